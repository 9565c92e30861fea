/* weft-property-panel.h — the editor's property panel, generated from the
 * selected block's parameter schema (ranges, choices, blurbs as tooltips),
 * plus its connections and structure (frozen, shared weights). It edits
 * nothing itself: it emits signals and the Model page records the edits. */
#pragma once

#include <adwaita.h>

#include "graph/weft-layout.h"

G_BEGIN_DECLS

#define WEFT_TYPE_PROPERTY_PANEL (weft_property_panel_get_type ())

G_DECLARE_FINAL_TYPE (WeftPropertyPanel, weft_property_panel, WEFT, PROPERTY_PANEL, GtkBox)

GtkWidget *weft_property_panel_new (void);
/* Shows node or input @id of @spec (NULL: nothing selected; @n_selected
 * says how many are). Rebuilds its widgets, so the page calls it when the
 * selection changes or the spec changed under it (undo), not after an edit
 * made in the panel itself. */
void       weft_property_panel_show (WeftPropertyPanel *self, const WeftSpec *spec,
                                     const WeftInspection *insp, const char *id,
                                     guint n_selected);
/* Updates the engine's report (shape, cost, message) without rebuilding. */
void       weft_property_panel_update_report (WeftPropertyPanel *self, const WeftSpec *spec,
                                              const WeftInspection *insp);

G_END_DECLS
