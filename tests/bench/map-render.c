/* map-render.c — frame times of WeftMapView drawing 100k and 1M points
 * offscreen (with the hover overlay) against a naive Cairo peer. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <gtk/gtk.h>

#include "weft-map-view.h"

#define WIDTH  1280
#define HEIGHT 800

/* Clustered points like a projected embedding: ten Gaussian blobs, three
 * modalities per sample. */
static void
make_points (int     n,
             float  *xy,
             guint8 *colour,
             guint8 *marker,
             int    *group)
{
  GRand *rand = g_rand_new_with_seed (7);

  for (int i = 0; i < n; i++)
    {
      int c = g_rand_int_range (rand, 0, 10);
      double a = 2 * G_PI * c / 10.0;
      double u1 = g_rand_double (rand) + 1e-12, u2 = g_rand_double (rand);
      double r = sqrt (-2 * log (u1));

      xy[2 * i] = (float) (8 * cos (a) + r * cos (2 * G_PI * u2));
      xy[2 * i + 1] = (float) (8 * sin (a) + r * sin (2 * G_PI * u2));
      colour[i] = (guint8) c;
      marker[i] = (guint8) (i % 3);
      group[i] = i / 3;
    }
  g_rand_free (rand);
}

/* The peer: what a first attempt would do, one cairo_arc + fill per point
 * in the point's colour, every frame. */
static void
draw_naive (cairo_t     *cr,
            const float *xy,
            const guint8 *colour,
            int          n)
{
  double ppu = (HEIGHT - 48) / 24.0;

  cairo_set_source_rgba (cr, 0, 0, 0, 0);
  cairo_set_operator (cr, CAIRO_OPERATOR_SOURCE);
  cairo_paint (cr);
  cairo_set_operator (cr, CAIRO_OPERATOR_OVER);
  for (int i = 0; i < n; i++)
    {
      GdkRGBA c;

      weft_map_view_get_colour (colour[i], &c);
      cairo_set_source_rgba (cr, c.red, c.green, c.blue, 0.85);
      cairo_arc (cr, WIDTH / 2.0 + xy[2 * i] * ppu, HEIGHT / 2.0 - xy[2 * i + 1] * ppu,
                 2.0, 0, 2 * G_PI);
      cairo_fill (cr);
    }
}

static double
median (double *v,
        int     n)
{
  for (int a = 1; a < n; a++)
    for (int b = a; b > 0 && v[b - 1] > v[b]; b--)
      {
        double t = v[b];
        v[b] = v[b - 1];
        v[b - 1] = t;
      }
  return v[n / 2];
}

static void
bench (int n,
       int reps)
{
  g_autofree float *xy = g_new (float, 2 * n);
  g_autofree guint8 *colour = g_new (guint8, n);
  g_autofree guint8 *marker = g_new (guint8, n);
  g_autofree int *group = g_new (int, n);
  g_autofree double *full = g_new (double, reps);
  g_autofree double *hover = g_new (double, reps);
  g_autofree double *naive = g_new (double, reps);
  const char *legend[] = { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9" };
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, WIDTH, HEIGHT);
  cairo_t *cr = cairo_create (surface);
  WeftMapView *map = g_object_ref_sink (WEFT_MAP_VIEW (weft_map_view_new ()));
  int naive_reps = n > 200000 ? MAX (reps / 4, 1) : reps;
  double target = n >= 1000000 ? 100.0 : 16.0;
  double t_full, t_hover, t_naive;

  make_points (n, xy, colour, marker, group);
  weft_map_view_set_points (map, xy, n);
  weft_map_view_set_style (map, colour, marker);
  weft_map_view_set_groups (map, group);
  weft_map_view_set_legend (map, legend, 10);
  weft_map_view_draw (map, cr, WIDTH, HEIGHT);   /* warm up (sprites) */

  for (int r = 0; r < reps; r++)
    {
      gint64 t0, t1, t2;

      /* A full frame: the data or the view changed, the dense layer is
       * rasterised again, then the overlay. */
      weft_map_view_invalidate (map);
      weft_map_view_set_hover (map, (r * 7919) % n);
      t0 = g_get_monotonic_time ();
      weft_map_view_draw (map, cr, WIDTH, HEIGHT);
      cairo_surface_flush (surface);
      t1 = g_get_monotonic_time ();
      /* A hover frame: the pointer moved to another point; the cached layer
       * is composited and only the overlay is drawn. */
      weft_map_view_set_hover (map, (r * 104729) % n);
      weft_map_view_draw (map, cr, WIDTH, HEIGHT);
      cairo_surface_flush (surface);
      t2 = g_get_monotonic_time ();
      full[r] = (t1 - t0) / 1000.0;
      hover[r] = (t2 - t1) / 1000.0;
    }
  for (int r = 0; r < naive_reps; r++)
    {
      gint64 t0 = g_get_monotonic_time ();

      draw_naive (cr, xy, colour, n);
      cairo_surface_flush (surface);
      naive[r] = (g_get_monotonic_time () - t0) / 1000.0;
    }

  t_full = median (full, reps);
  t_hover = median (hover, reps);
  t_naive = median (naive, naive_reps);
  printf ("%8d points  full frame %7.1f ms (target <= %3.0f ms: %s)  hover frame %6.2f ms"
          "  naive cairo_arc %7.1f ms  speed-up %5.1fx (full) %6.0fx (hover)\n",
          n, t_full, target, t_full <= target ? "met" : "MISSED", t_hover,
          t_naive, t_naive / t_full, t_naive / t_hover);
  fflush (stdout);

  if (g_getenv ("MAP_RENDER_PNG") != NULL)
    {
      g_autofree char *path = g_strdup_printf ("%s/map-render-%d.png", g_getenv ("MAP_RENDER_PNG"), n);

      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_paint (cr);
      weft_map_view_draw (map, cr, WIDTH, HEIGHT);
      cairo_surface_write_to_png (surface, path);
    }

  g_object_unref (map);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

int
main (int    argc,
      char **argv)
{
  int reps = argc > 1 ? atoi (argv[1]) : 15;

  if (!gtk_init_check ())
    {
      fprintf (stderr, "map-render: no display (run under xvfb-run)\n");
      return 77;
    }
  printf ("map-render: WeftMapView at %dx%d, median of %d frames\n", WIDTH, HEIGHT, reps);
  bench (100000, reps);
  bench (1000000, MAX (reps / 3, 3));
  return 0;
}
