/* main.c — entry point of `weft`, the GTK application. `weft DIR` opens the
 * dataset folder DIR. */

#include "weft-config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "weft-application.h"

/* g_settings_new() aborts on a missing schema; say how to fix it instead. */
static gboolean
weft_schema_is_installed (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APP_ID, TRUE);

  return schema != NULL;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(WeftApplication) app = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (!weft_schema_is_installed ())
    {
      g_printerr ("weft: the settings schema %s is not installed.\n"
                  "Install Weft, or run it from a build directory with "
                  "`meson devenv -C BUILDDIR app/weft`.\n", APP_ID);
      return 1;
    }

  g_set_application_name (_("Weft"));

  app = weft_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
