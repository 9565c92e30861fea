/* weft-explore-page.c — the Explore page: the map of a run's joint embedding space, neighbours, search and evaluation.
 * Until there is something to show it shows an empty state. */

#include "weft-config.h"

#include <glib/gi18n.h>

#include "weft-explore-page.h"

struct _WeftExplorePage
{
  AdwBin       parent_instance;

  /* Template widgets */
  GtkStack    *stack;
  AdwStatusPage *empty_status;

  /* Owned */
  WeftProject *project;
  WeftFeatures *features;

  /* Borrowed */
  const WeftDataset *dataset;
};

G_DEFINE_FINAL_TYPE (WeftExplorePage, weft_explore_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_PROJECT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
weft_explore_page_dispose (GObject *object)
{
  WeftExplorePage *self = WEFT_EXPLORE_PAGE (object);

  g_clear_object (&self->project);
  g_clear_pointer (&self->features, weft_features_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), WEFT_TYPE_EXPLORE_PAGE);

  G_OBJECT_CLASS (weft_explore_page_parent_class)->dispose (object);
}

static void
weft_explore_page_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  WeftExplorePage *self = WEFT_EXPLORE_PAGE (object);

  switch (prop_id)
    {
    case PROP_PROJECT:
      g_value_set_object (value, self->project);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
weft_explore_page_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  WeftExplorePage *self = WEFT_EXPLORE_PAGE (object);

  switch (prop_id)
    {
    case PROP_PROJECT:
      weft_explore_page_set_project (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
weft_explore_page_class_init (WeftExplorePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = weft_explore_page_dispose;
  object_class->get_property = weft_explore_page_get_property;
  object_class->set_property = weft_explore_page_set_property;

  properties[PROP_PROJECT] =
    g_param_spec_object ("project", NULL, NULL, WEFT_TYPE_PROJECT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/weft/Weft/ui/weft-explore-page.ui");
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, stack);
  gtk_widget_class_bind_template_child (widget_class, WeftExplorePage, empty_status);
}

static void
weft_explore_page_init (WeftExplorePage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

void
weft_explore_page_set_project (WeftExplorePage *self,
                               WeftProject *project)
{
  g_return_if_fail (WEFT_IS_EXPLORE_PAGE (self));
  g_return_if_fail (project == NULL || WEFT_IS_PROJECT (project));

  if (!g_set_object (&self->project, project))
    return;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROJECT]);
}

WeftProject *
weft_explore_page_get_project (WeftExplorePage *self)
{
  g_return_val_if_fail (WEFT_IS_EXPLORE_PAGE (self), NULL);

  return self->project;
}

void
weft_explore_page_set_features (WeftExplorePage      *self,
                                WeftFeatures      *features,
                                const WeftDataset *dataset)
{
  g_return_if_fail (WEFT_IS_EXPLORE_PAGE (self));

  if (features != NULL)
    weft_features_ref (features);
  g_clear_pointer (&self->features, weft_features_free);
  self->features = features;
  self->dataset = dataset;
}

WeftFeatures *
weft_explore_page_get_features (WeftExplorePage *self)
{
  g_return_val_if_fail (WEFT_IS_EXPLORE_PAGE (self), NULL);

  return self->features;
}
