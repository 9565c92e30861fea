/* weft-report-view.h — the validation report: one row per problem found
 * while reading or decoding the dataset, each with "Show in Files". */
#pragma once

#include <adwaita.h>

#include "data/weft-dataset.h"

G_BEGIN_DECLS

#define WEFT_TYPE_REPORT_VIEW (weft_report_view_get_type ())

G_DECLARE_FINAL_TYPE (WeftReportView, weft_report_view, WEFT, REPORT_VIEW, AdwBin)

/* Replaces the rows with @issues (WeftIssue*, borrowed for the call) of the
 * dataset in @root (absolute). */
void  weft_report_view_set_issues (WeftReportView *self,
                                   const char     *root,
                                   GPtrArray      *issues);
guint weft_report_view_get_n_issues (WeftReportView *self);
/* "row 12 · images/cat.png · the file is missing"; newly allocated. */
char *weft_report_view_format_issue (const WeftIssue *issue);

G_END_DECLS
