/* test-project.c — .weft project files: a lossless round trip (unknown
 * members kept, dataset stored relative to the project), atomic saves that
 * leave no temporary file, and clear errors for damaged files. */
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "weft-error.h"
#include "weft-json.h"
#include "weft-project.h"

static const char *project_json =
  "{\"weft_project\": 1, \"dataset\": \"data/emoji\","
  " \"features\": {\"image_size\": 32},"
  " \"model\": {\"weft_model\": 1, \"inputs\": [{\"id\": \"image\", \"modality\": \"image\"}],"
  "   \"nodes\": [{\"id\": \"f\", \"type\": \"flatten\", \"inputs\": [\"image\"]}]},"
  " \"training\": {\"epochs\": 3},"
  " \"runs\": [{\"id\": \"run-1\", \"epochs\": [{\"loss\": 0.5}]}],"
  " \"future_member\": [1, 2]}";

static void
test_roundtrip (void)
{
  g_autofree char *dir = g_dir_make_tmp ("weft-project-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "a.weft", NULL);
  g_assert_true (g_file_set_contents (path, project_json, -1, NULL));
  g_autoptr(GFile) file = g_file_new_for_path (path);
  GError *error = NULL;
  g_autoptr(WeftProject) p = weft_project_load (file, &error);
  g_assert_no_error (error);
  g_autofree char *expect_ds = g_build_filename (dir, "data", "emoji", NULL);
  g_assert_cmpstr (weft_project_get_dataset (p), ==, expect_ds);
  g_assert_cmpuint (weft_project_get_n_runs (p), ==, 1);
  g_assert_nonnull (weft_project_get_model (p));
  g_assert_false (weft_project_get_modified (p));

  g_autofree char *path2 = g_build_filename (dir, "b.weft", NULL);
  g_autoptr(GFile) file2 = g_file_new_for_path (path2);
  g_assert_true (weft_project_save (p, file2, &error));
  g_assert_no_error (error);
  g_autoptr(WeftProject) q = weft_project_load (file2, &error);
  g_assert_no_error (error);
  g_autofree char *t1 = weft_project_to_data (p, dir);
  g_autofree char *t2 = weft_project_to_data (q, dir);
  g_assert_cmpstr (t1, ==, t2);
  g_assert_nonnull (strstr (t1, "\"future_member\""));
  g_assert_nonnull (strstr (t1, "\"dataset\" : \"data/emoji\""));

  /* no temporary files left beside the saved one */
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  int n = 0;
  while (g_dir_read_name (d))
    n++;
  g_assert_cmpint (n, ==, 2);
  g_unlink (path);
  g_unlink (path2);
  g_rmdir (dir);
}

static void
assert_load_error (const char *content, const char *expect)
{
  g_autofree char *dir = g_dir_make_tmp ("weft-project-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "bad.weft", NULL);
  g_assert_true (g_file_set_contents (path, content, -1, NULL));
  g_autoptr(GFile) file = g_file_new_for_path (path);
  GError *error = NULL;
  g_assert_null (weft_project_load (file, &error));
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_DATA);
  if (strstr (error->message, expect) == NULL)
    g_error ("expected «%s» in «%s»", expect, error->message);
  g_assert_true (g_str_has_prefix (error->message, "bad.weft: "));
  g_error_free (error);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_damaged (void)
{
  assert_load_error ("{\"weft_project\": 1, \"runs\": [", "the file is damaged");
  assert_load_error ("{\"hello\": 1}", "this is not a Weft project");
  assert_load_error ("{\"weft_project\": 7}", "version is not supported");
  assert_load_error ("{\"weft_project\": 1, \"runs\": 5}", "\"runs\" must be a list");
  assert_load_error ("{\"weft_project\": 1, \"model\": {\"weft_model\": 1}}", "its model is invalid");
  assert_load_error ("{\"weft_project\": 1, \"dataset\": 3}", "\"dataset\" must be a folder path");
  assert_load_error ("\xff\xfe{}", "not UTF-8");
}

static void
test_missing_file (void)
{
  g_autoptr(GFile) file = g_file_new_for_path ("/nonexistent/weft/x.weft");
  GError *error = NULL;
  g_assert_null (weft_project_load (file, &error));
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_IO);
  g_assert_true (g_str_has_prefix (error->message, "x.weft: the file does not exist"));
  g_clear_error (&error);

  /* saving into a folder that is not there says which folder */
  g_autoptr(WeftProject) p = weft_project_new ();
  g_assert_false (weft_project_save (p, file, &error));
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "the folder /nonexistent/weft does not exist"));
  g_assert_null (weft_project_get_file (p));
  g_error_free (error);
}

static void
count_cb (WeftProject *p, guint *n)
{
  (*n)++;
}

static void
count_notify_cb (WeftProject *p, GParamSpec *pspec, guint *n)
{
  (*n)++;
}

/* "changed" follows every edit, "notify::modified" only the first. */
static void
test_changed_signal (void)
{
  g_autoptr(WeftProject) p = weft_project_new ();
  g_autoptr(JsonObject) features = json_object_new ();
  guint changed = 0, notified = 0;

  g_signal_connect (p, "changed", G_CALLBACK (count_cb), &changed);
  g_signal_connect (p, "notify::modified", G_CALLBACK (count_notify_cb), &notified);
  weft_project_set_dataset (p, "/data/a");
  weft_project_set_dataset (p, "/data/a");   /* no change, no signal */
  weft_project_set_features (p, features);
  weft_project_set_dataset (p, "/data/b");
  g_assert_cmpuint (changed, ==, 3);
  g_assert_cmpuint (notified, ==, 1);
  g_assert_true (weft_project_get_modified (p));
  weft_project_set_modified (p, FALSE);
  g_assert_cmpuint (changed, ==, 3);
  g_assert_cmpuint (notified, ==, 2);
}

/* An autosave copy leaves the project as it is, keeps the dataset absolute
 * and comes back modified, standing for the original file. */
static void
test_autosave_roundtrip (void)
{
  g_autofree char *dir = g_dir_make_tmp ("weft-project-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "a.weft", NULL);
  g_autofree char *auto_path = g_build_filename (dir, "state", "autosave", "x.weft", NULL);
  g_autofree char *dataset = g_build_filename (dir, "data", "emoji", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFile) auto_file = g_file_new_for_path (auto_path);
  g_autoptr(WeftProject) p = weft_project_new ();
  g_autoptr(WeftProject) q = NULL;
  g_autoptr(WeftProject) r = NULL;
  g_autofree char *autosave_dir = weft_project_dup_autosave_dir ();
  GError *error = NULL;

  g_assert_true (g_str_has_suffix (autosave_dir, "/weft/autosave"));

  /* never saved: no "autosave_of", no file after loading */
  weft_project_set_dataset (p, dataset);
  g_assert_true (weft_project_save_autosave (p, auto_file, &error));
  g_assert_no_error (error);
  g_assert_true (weft_project_get_modified (p));
  g_assert_null (weft_project_get_file (p));
  q = weft_project_load_autosave (auto_file, &error);
  g_assert_no_error (error);
  g_assert_null (weft_project_get_file (q));
  g_assert_true (weft_project_get_modified (q));
  g_assert_cmpstr (weft_project_get_dataset (q), ==, dataset);

  /* saved: stands for its file, and saving it again writes no autosave_of */
  g_assert_true (weft_project_save (p, file, &error));
  weft_project_set_modified (p, TRUE);
  g_assert_true (weft_project_save_autosave (p, auto_file, &error));
  g_assert_no_error (error);
  g_assert_true (weft_project_get_file (p) == file);
  r = weft_project_load_autosave (auto_file, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_equal (weft_project_get_file (r), file));
  g_assert_true (weft_project_get_modified (r));
  g_assert_cmpstr (weft_project_get_dataset (r), ==, dataset);
  {
    g_autofree char *text = weft_project_to_data (r, dir);
    g_assert_null (strstr (text, "autosave_of"));
    g_assert_nonnull (strstr (text, "\"dataset\" : \"data/emoji\""));
  }

  g_unlink (auto_path);
  g_unlink (path);
  g_autofree char *auto_dir = g_path_get_dirname (auto_path);
  g_autofree char *state_dir = g_path_get_dirname (auto_dir);
  g_rmdir (auto_dir);
  g_rmdir (state_dir);
  g_rmdir (dir);
}

/* json-glib writes 1e-08 as "1e-08.0"; Weft's writers must not, or a
 * project with Adam's default eps could not be read back. */
static void
test_json_small_doubles (void)
{
  char text[] = "{\"eps\":1e-08.0,\"s\":\"1e-08.0 stays\",\"b\":-2.5E+300,\"n\":[3,1e5.0]}";
  gsize len = weft_json_repair_numbers (text, strlen (text));

  g_assert_cmpstr (text, ==, "{\"eps\":1e-08,\"s\":\"1e-08.0 stays\",\"b\":-2.5E+300,\"n\":[3,1e5]}");
  g_assert_cmpuint (len, ==, strlen (text));

  g_autoptr(WeftProject) project = weft_project_new ();
  g_autoptr(JsonObject) training = json_object_new ();
  json_object_set_double_member (training, "eps", 1e-8);
  json_object_set_double_member (training, "lr", 3e-4);
  weft_project_set_training (project, training);

  g_autofree char *dir = g_dir_make_tmp ("weft-json-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "p.weft", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  g_assert_true (weft_project_save (project, file, &error));
  g_assert_no_error (error);

  g_autoptr(WeftProject) back = weft_project_load (file, &error);
  g_assert_no_error (error);
  JsonObject *t = weft_project_get_training (back);
  g_assert_cmpfloat (json_object_get_double_member (t, "eps"), ==, 1e-8);
  g_assert_cmpfloat (json_object_get_double_member (t, "lr"), ==, 3e-4);

  g_autofree char *autosave = g_build_filename (dir, "a.json", NULL);
  g_autoptr(GFile) afile = g_file_new_for_path (autosave);
  g_assert_true (weft_project_save_autosave (project, afile, &error));
  g_assert_no_error (error);

  g_unlink (path);
  g_unlink (autosave);
  g_rmdir (dir);
}

/* Undoing a deletion puts the run back where it was; deleting a run's
 * folder takes its files but only removes a symbolic link, never what the
 * link points at. */
static void
test_run_delete (void)
{
  g_autoptr(WeftProject) p = weft_project_new ();
  g_autoptr(GError) error = NULL;

  for (int i = 0; i < 3; i++)
    {
      g_autoptr(JsonObject) run = json_object_new ();
      g_autofree char *id = g_strdup_printf ("run-%d", i);
      json_object_set_string_member (run, "id", id);
      weft_project_add_run (p, run);
    }
  JsonObject *middle = json_object_ref (weft_project_get_run (p, 1));
  weft_project_remove_run (p, 1);
  g_assert_cmpuint (weft_project_get_n_runs (p), ==, 2);
  weft_project_insert_run (p, 1, middle);
  json_object_unref (middle);
  g_assert_cmpuint (weft_project_get_n_runs (p), ==, 3);
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *id = g_strdup_printf ("run-%d", i);
      g_assert_cmpstr (json_object_get_string_member (weft_project_get_run (p, i), "id"), ==, id);
    }

  /* A run folder with a file, a subfolder and a link to a file outside. */
  g_autofree char *dir = weft_project_dup_run_dir ("run-x", &error);
  g_assert_no_error (error);
  g_autofree char *sub = g_build_filename (dir, "embeddings", NULL);
  g_autofree char *file = g_build_filename (sub, "final.emb", NULL);
  g_autofree char *outside = g_build_filename (g_get_user_data_dir (), "keep.txt", NULL);
  g_autofree char *link = g_build_filename (dir, "link", NULL);
  g_assert_cmpint (g_mkdir_with_parents (sub, 0700), ==, 0);
  g_assert_true (g_file_set_contents (file, "x", 1, NULL));
  g_assert_true (g_file_set_contents (outside, "keep", 4, NULL));
  g_assert_cmpint (symlink (outside, link), ==, 0);

  g_assert_true (weft_project_delete_run_dir ("run-x", &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (outside, G_FILE_TEST_IS_REGULAR));
  /* Gone already, or never there: nothing to do. */
  g_assert_true (weft_project_delete_run_dir ("run-x", &error));
  g_assert_no_error (error);
  g_assert_false (weft_project_delete_run_dir ("..", &error));
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_IO);
  g_assert_true (g_file_test (g_get_user_data_dir (), G_FILE_TEST_IS_DIR));
  g_unlink (outside);
}

int
main (int argc, char **argv)
{
  /* Run folders go to a temporary data folder, never to the home of
   * whoever runs the tests. (Not G_TEST_OPTION_ISOLATE_DIRS: GLib leaks
   * its folder names, which LeakSanitizer reports.) */
  g_autofree char *data_home = g_dir_make_tmp ("weft-test-project-XXXXXX", NULL);
  g_assert_nonnull (data_home);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/project/roundtrip-lossless", test_roundtrip);
  g_test_add_func ("/project/damaged-files", test_damaged);
  g_test_add_func ("/project/missing-file", test_missing_file);
  g_test_add_func ("/project/changed-signal", test_changed_signal);
  g_test_add_func ("/project/autosave-roundtrip", test_autosave_roundtrip);
  g_test_add_func ("/project/json-small-doubles", test_json_small_doubles);
  g_test_add_func ("/project/run-delete", test_run_delete);
  int status = g_test_run ();

  g_autofree char *runs = g_build_filename (data_home, "weft", "runs", NULL);
  g_autofree char *weft = g_build_filename (data_home, "weft", NULL);
  g_rmdir (runs);
  g_rmdir (weft);
  g_rmdir (data_home);
  return status;
}
