/* weft-hover-card.h — WeftHoverCard: the small card over the map showing the
 * hovered sample's thumbnail, caption, label and a button to hear it. */
#pragma once

#include <gtk/gtk.h>

#include "data/weft-dataset.h"

G_BEGIN_DECLS

#define WEFT_TYPE_HOVER_CARD (weft_hover_card_get_type ())

G_DECLARE_FINAL_TYPE (WeftHoverCard, weft_hover_card, WEFT, HOVER_CARD, GtkWidget)

GtkWidget *weft_hover_card_new        (void);
/* Shows sample (borrowed for the call; NULL hides the card). detail is a
 * line such as "cat · validation · text point". */
void       weft_hover_card_set_sample (WeftHoverCard    *self,
                                       const WeftSample *sample,
                                       const char       *detail);
/* Stops any sound the card plays. */
void       weft_hover_card_stop       (WeftHoverCard    *self);

G_END_DECLS
