/* plots/gp.c: the machinery every figure shares -- opening its script and
 * data file, the common preamble (a palette that survives greyscale: black
 * and luminance-separated colours, each with its own dash and point type),
 * the SVG and PNG terminals, running gnuplot in the figures folder, and the
 * list of the figures written. */
#include "escape.h"
#include "plots_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

void fig_str(FILE *f, const char *s)
{
    fputc('"', f);
    esc_gnuplot(f, s);
    fputc('"', f);
}

void fig_comment(FILE *f, const char *s)
{
    for (; s && *s; s++)
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
}

int fig_begin(fig_ctx *c, const char *dir, const char *name, const char *title, dyt_err *e)
{
    memset(c, 0, sizeof *c);
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->width = 960;
    c->height = 600;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.gp", dir, name);
    c->gp = fopen(path, "w");
    snprintf(path, sizeof path, "%s/%s.dat", dir, name);
    c->dat = c->gp ? fopen(path, "w") : NULL;
    c->plotf = c->dat ? open_memstream(&c->plot, &c->plot_len) : NULL;
    if (!c->plotf) {
        int err = errno;
        if (c->gp)
            fclose(c->gp);
        if (c->dat)
            fclose(c->dat);
        return dyt_errf(e, DYT_RESOURCE, "report: cannot write %s: %s", path, strerror(err));
    }
    fprintf(c->gp,
            "# dytbench figure: %s.gp draws %s.dat as %s.svg and %s.png.\n"
            "# Run it from this folder: gnuplot %s.gp. Every label is noenhanced, so\n"
            "# user strings (labels, model names) print literally.\n"
            "reset\nset encoding utf8\n"
            "# Palette for colour and greyscale: luminance-separated colours, each with\n"
            "# its own dash type and point type.\n"
            "set linetype 1 lc rgb \"#000000\" lw 2 dt 1 pt 7 ps 1.1\n"
            "set linetype 2 lc rgb \"#0072b2\" lw 2 dt 2 pt 5 ps 1.1\n"
            "set linetype 3 lc rgb \"#e69f00\" lw 2 dt 3 pt 9 ps 1.3\n"
            "set linetype 4 lc rgb \"#009e73\" lw 2 dt 4 pt 13 ps 1.3\n"
            "set linetype 5 lc rgb \"#cc79a7\" lw 2 dt 5 pt 11 ps 1.3\n"
            "set linetype 6 lc rgb \"#56b4e9\" lw 2 dt 6 pt 3 ps 1.1\n"
            "set linetype 7 lc rgb \"#d55e00\" lw 2 dt (8,4,2,4) pt 1 ps 1.1\n"
            "set linetype 8 lc rgb \"#999999\" lw 2 dt (2,2) pt 2 ps 1.1\n"
            "set linetype cycle 8\n"
            "set grid lc rgb \"#d0d0d0\" lw 1 dt 1\n"
            "set key noenhanced box opaque\n"
            "set title noenhanced ",
            name, name, name, name, name);
    fig_str(c->gp, title);
    fputc('\n', c->gp);
    fprintf(c->dat,
            "# dytbench figure data for %s.gp; blocks separated by two blank lines "
            "(gnuplot index 0, 1, ...)\n",
            name);
    return DYT_OK;
}

void fig_block(fig_ctx *c, const char *comment)
{
    if (c->blocks++)
        fputs("\n\n", c->dat);
    fputs("# ", c->dat);
    fig_comment(c->dat, comment);
    fputc('\n', c->dat);
}

int fig_end(fig_ctx *c, dyt_err *e)
{
    fclose(c->plotf);
    fprintf(c->gp,
            "set terminal svg size %d,%d font \"sans,12\" noenhanced background \"#ffffff\"\n"
            "set output \"%s.svg\"\n%s\n"
            "set terminal pngcairo size %d,%d font \"sans,11\" noenhanced background \"#ffffff\"\n"
            "set output \"%s.png\"\nreplot\nset output\n",
            c->width, c->height, c->name, c->plot ? c->plot : "", c->width, c->height, c->name);
    free(c->plot);
    c->plot = NULL;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.dat", c->dir, c->name);
    int rc = dyt_close_output(c->dat, path, e);
    snprintf(path, sizeof path, "%s/%s.gp", c->dir, c->name);
    int rc_gp = dyt_close_output(c->gp, path, e);
    return rc_gp != DYT_OK ? rc_gp : rc;
}

static long file_size(const char *dir, const char *name, const char *ext)
{
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    return stat(path, &st) ? -1 : (long)st.st_size;
}

int fig_run(const char *gnuplot, const char *dir, const char *name, FILE *log)
{
    char script[128], errpath[4200];
    snprintf(script, sizeof script, "%s.gp", name);
    snprintf(errpath, sizeof errpath, "%s/%s.log", dir, name);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int null = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 2);
            dup2(fd, 1);
        }
        if (null >= 0)
            dup2(null, 0);
        if (chdir(dir))
            _exit(126);
        execlp(gnuplot, gnuplot, script, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && file_size(dir, name, "svg") > 0 &&
             file_size(dir, name, "png") > 0;
    if (ok) {
        unlink(errpath);
        return 0;
    }
    if (log)
        fprintf(log, "dytbench: report: gnuplot could not draw %s/%s.gp (see %s)\n", dir, name,
                errpath);
    return -1;
}

int fig_finish(fig_list *l, fig_ctx *c, const char *title, const char *caption, dyt_err *e)
{
    if (fig_end(c, e))
        return DYT_USAGE;
    fig_file *p = realloc(l->v, (l->n + 1) * sizeof *p);
    if (!p)
        return dyt_errf(e, DYT_RESOURCE, "report: out of memory");
    l->v = p;
    fig_file *f = &l->v[l->n++];
    memset(f, 0, sizeof *f);
    if (asprintf(&f->stem, "figures/%s", c->name) < 0)
        f->stem = NULL;
    f->title = strdup(title);
    f->caption = strdup(caption);
    if (!f->stem || !f->title || !f->caption)
        return dyt_errf(e, DYT_RESOURCE, "report: out of memory");
    f->rendered = l->gnuplot && !fig_run(l->gnuplot, l->dir, c->name, l->log);
    return DYT_OK;
}

void fig_free(fig_file *figs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(figs[i].stem);
        free(figs[i].title);
        free(figs[i].caption);
    }
    free(figs);
}
