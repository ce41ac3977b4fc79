/* Parsing of `run --cupti-metrics`: syntax only, so a typo is a usage error
 * before anything is stored; support on the chip is checked by cupti.c. */
#include "cuda_metrics.h"

#include <stdlib.h>
#include <string.h>

void cupti_metrics_free(cupti_metric_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    memset(l, 0, sizeof *l);
}

void cupti_metric_base(const char *name, char *buf, size_t n)
{
    size_t k = strcspn(name, ".");
    if (n == 0)
        return;
    if (k >= n)
        k = n - 1;
    memcpy(buf, name, k);
    buf[k] = '\0';
}

/* unit__counter(.part)*: lower-case letters, digits, '_'; the base has a
 * "__" with something on both sides; no empty part. */
static int valid_name(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 200)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return 0;
        if (c == '.' && (i == 0 || i + 1 == len || s[i + 1] == '.'))
            return 0;
    }
    const char *dot = strchr(s, '.');
    size_t blen = dot ? (size_t)(dot - s) : len;
    const char *sep = strstr(s, "__");
    return sep && sep > s && (size_t)(sep - s) + 2 < blen;
}

int cupti_metrics_parse(const char *spec, cupti_metric_list *out, dyt_err *e)
{
    memset(out, 0, sizeof *out);
    if (!spec || !*spec || !strcmp(spec, "default"))
        spec = CUPTI_DEFAULT_METRICS;
    if (!strcmp(spec, "none"))
        return DYT_OK;
    char *copy = strdup(spec);
    if (!copy)
        return dyt_errf(e, DYT_RESOURCE, "out of memory");
    int rc = DYT_OK;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        size_t l = strlen(tok);
        while (l && tok[l - 1] == ' ')
            tok[--l] = '\0';
        if (!valid_name(tok)) {
            rc = dyt_errf(e, DYT_USAGE,
                          "--cupti-metrics: '%s' is not a metric name (expected e.g. "
                          "dram__bytes_read.sum)",
                          tok);
            break;
        }
        int dup = 0;
        for (size_t i = 0; i < out->n; i++)
            dup |= !strcmp(out->names[i], tok);
        if (dup)
            continue;
        if (out->n == CUPTI_MAX_METRICS) {
            rc = dyt_errf(e, DYT_USAGE, "--cupti-metrics: more than %d metrics",
                          CUPTI_MAX_METRICS);
            break;
        }
        if (!(out->names[out->n] = strdup(tok))) {
            rc = dyt_errf(e, DYT_RESOURCE, "out of memory");
            break;
        }
        out->n++;
    }
    free(copy);
    if (rc == DYT_OK && out->n == 0)
        rc = dyt_errf(e, DYT_USAGE, "--cupti-metrics: empty list (use 'none' to skip CUPTI)");
    if (rc != DYT_OK)
        cupti_metrics_free(out);
    return rc;
}
