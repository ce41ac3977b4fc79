/* report/html.c: index.html -- one self-contained page: the tables, and
 * every figure's SVG embedded inline (no network, no JavaScript). gnuplot
 * gives every SVG the same element ids (gpPt0, gnuplot_canvas, ...), so
 * each embedded figure's ids and references get a prefix of their own. */
#include "escape.h"
#include "report_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *css =
    "body{font-family:sans-serif;margin:1.5em auto;max-width:1400px;padding:0 1em;color:#111}"
    "h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #999}"
    "table{border-collapse:collapse;font-size:.85em;margin:.5em 0}"
    "th,td{padding:.2em .6em;border-bottom:1px solid #ddd;vertical-align:top}"
    "td{white-space:nowrap}td.text{white-space:normal;min-width:20em}"
    "th{border-bottom:2px solid #333;text-align:left}td.num,th.num{text-align:right;"
    "font-variant-numeric:tabular-nums;white-space:nowrap}"
    ".note{font-size:.85em;color:#333;max-width:70em}"
    ".notice{border-left:4px solid #b00;background:#fff4f4;padding:.5em 1em}"
    "figure{margin:1em 0}figure svg{max-width:100%;height:auto;border:1px solid #ccc}"
    "figcaption{font-size:.85em;max-width:70em}.wrap{overflow-x:auto}";

void rep_table_html(FILE *f, const rep_table *t)
{
    fputs("<div class=\"wrap\"><table>\n<thead><tr>", f);
    for (size_t j = 0; j < t->ncols; j++) {
        fputs(t->align[j] == 'r' ? "<th class=\"num\">" : "<th>", f);
        esc_html(f, t->head[j]);
        fputs("</th>", f);
    }
    fputs("</tr></thead>\n<tbody>\n", f);
    for (size_t i = 0; i < t->nrows; i++) {
        fputs("<tr>", f);
        for (size_t j = 0; j < t->ncols; j++) {
            fputs(t->align[j] == 'r'   ? "<td class=\"num\">"
                  : t->align[j] == 'p' ? "<td class=\"text\">"
                                       : "<td>",
                  f);
            esc_html(f, t->cells[i * t->ncols + j]);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    if (!t->nrows)
        fprintf(f, "<tr><td colspan=\"%zu\">(no rows)</td></tr>\n", t->ncols);
    fputs("</tbody></table></div>\n", f);
}

/* Copies the SVG element of file `path` into f, ids prefixed with pfx.
 * Returns 0, or -1 if the file cannot be read or holds no <svg. */
static int embed_svg(FILE *f, const char *path, const char *pfx)
{
    char *text;
    size_t len;
    dyt_err e;
    if (dyt_read_file(path, &text, &len, &e))
        return -1;
    const char *p = strstr(text, "<svg");
    if (!p) {
        free(text);
        return -1;
    }
    static const char *const pats[] = {"id=\"", "id='", "href=\"#", "href='#", "url(#"};
    while (*p) {
        size_t k = 0, plen = 0;
        for (; k < DYT_ARRAY_LEN(pats); k++) {
            plen = strlen(pats[k]);
            /* "id=" must start an attribute, not end one ("gid=") */
            if (!strncmp(p, pats[k], plen) &&
                (k > 1 || p == text || p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n'))
                break;
        }
        if (k < DYT_ARRAY_LEN(pats)) {
            fwrite(p, 1, plen, f);
            fputs(pfx, f);
            p += plen;
        } else {
            fputc(*p++, f);
        }
    }
    free(text);
    return 0;
}

int rep_write_html(const char *path, const char *out_dir, const rep_doc *d, dyt_err *e)
{
    FILE *f = rep_open_out(path, e);
    if (!f)
        return DYT_RESOURCE;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", f);
    esc_html(f, d->title);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n", css);
    rep_put(f, "<h1>", esc_html, d->title, "</h1>\n");
    rep_put(f, "<p>", esc_html, d->subtitle, "</p>\n");
    for (size_t i = 0; i < d->n_notices; i++)
        rep_put(f, "<p class=\"notice\"><strong>Note:</strong> ", esc_html, d->notices[i],
                "</p>\n");
    fputs("<nav><ul>\n", f);
    for (size_t i = 0; i < d->nt; i++) {
        rep_put(f, "<li><a href=\"#", esc_html, d->t[i]->id, "\">");
        rep_put(f, "", esc_html, d->t[i]->title, "</a></li>\n");
    }
    fputs("<li><a href=\"#figures\">Figures</a></li>\n</ul></nav>\n", f);
    for (size_t i = 0; i < d->nt; i++) {
        rep_put(f, "<section id=\"", esc_html, d->t[i]->id, "\">\n");
        rep_put(f, "<h2>", esc_html, d->t[i]->title, "</h2>\n");
        rep_table_html(f, d->t[i]);
        if (d->t[i]->note)
            rep_put(f, "<p class=\"note\">", esc_html, d->t[i]->note, "</p>\n");
        fputs("</section>\n", f);
    }
    fputs("<section id=\"figures\">\n<h2>Figures</h2>\n", f);
    size_t shown = 0;
    for (size_t i = 0; i < d->nfigs; i++) {
        const fig_file *g = &d->figs[i];
        if (!g->rendered)
            continue;
        char svg[4096], pfx[32];
        snprintf(svg, sizeof svg, "%s/%s.svg", out_dir, g->stem);
        snprintf(pfx, sizeof pfx, "f%zu_", i);
        fprintf(f, "<figure id=\"fig-%zu\">\n", i);
        if (embed_svg(f, svg, pfx))
            fputs("<p>(the SVG of this figure could not be read)</p>", f);
        else
            shown++;
        rep_put(f, "\n<figcaption><strong>", esc_html, g->title, ".</strong> ");
        rep_put(f, "", esc_html, g->caption, "");
        fprintf(f,
                " <a href=\"%s.png\">PNG</a>, <a href=\"%s.gp\">gnuplot script</a>, "
                "<a href=\"%s.dat\">data</a>.</figcaption>\n</figure>\n",
                g->stem, g->stem, g->stem);
    }
    if (!shown)
        fputs("<p>No figures in this report (see the notes above).</p>\n", f);
    fputs("</section>\n</body>\n</html>\n", f);
    return rep_close_out(f, path, e);
}
