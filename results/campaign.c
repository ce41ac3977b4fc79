/* Campaign plans in the results store: a campaign's whole plan (every case
 * of the unsharded plan and the shard it belongs to), written by each of
 * its shards with its run and carried along by `dytbench merge`, read by
 * the report to name the cases a lost shard never stored. A campaign has
 * one plan: a store refuses a second one under the same name, so shards
 * started with different suites or filters cannot pass for one campaign. */
#include "store_int.h"
#include <stdlib.h>
#include <string.h>

/* The stored plan hash and shard count of campaign; *found 0 if none. */
static int stored_plan(store *s, const char *campaign, char *hash, size_t n, int *count, int *found,
                       dyt_err *e)
{
    sqlite3_stmt *st;
    int rc = store_prepare(s, "SELECT plan_hash, shard_count FROM campaigns WHERE campaign = ?1",
                           "reading the campaign", &st, e);
    if (rc != DYT_OK)
        return rc;
    sqlite3_bind_text(st, 1, campaign, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    if (*found) {
        const unsigned char *h = sqlite3_column_text(st, 0);
        snprintf(hash, n, "%s", h ? (const char *)h : "");
        *count = sqlite3_column_int(st, 1);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sqlite_err(e, s->db, "%s: reading campaign '%s': %s", s->path, campaign,
                                sqlite3_errmsg(s->db));
    return DYT_OK;
}

static int insert_cases(sqlite3 *db, const store_campaign *c)
{
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(db,
                                 "INSERT INTO campaign_cases (campaign, seq, shard_index, suite,"
                                 " model, token_label, norm, variant, dtype, pass, rows, cols,"
                                 " threads) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
                                 -1, &st, NULL);
    for (size_t i = 0; src == SQLITE_OK && i < c->n; i++) {
        const store_plan_case *k = &c->v[i];
        sqlite3_reset(st);
        src = bind_text(st, 1, c->campaign);
        STORE_CHAIN(src, sqlite3_bind_int(st, 2, k->seq));
        STORE_CHAIN(src, sqlite3_bind_int(st, 3, k->shard_index));
        STORE_CHAIN(src, bind_text(st, 4, k->suite));
        STORE_CHAIN(src, bind_text(st, 5, k->model));
        STORE_CHAIN(src, bind_text(st, 6, k->token_label));
        STORE_CHAIN(src, bind_text(st, 7, k->norm));
        STORE_CHAIN(src, bind_text(st, 8, k->variant));
        STORE_CHAIN(src, bind_text(st, 9, k->dtype));
        STORE_CHAIN(src, bind_text(st, 10, k->pass));
        STORE_CHAIN(src, sqlite3_bind_int64(st, 11, k->rows));
        STORE_CHAIN(src, sqlite3_bind_int64(st, 12, k->cols));
        STORE_CHAIN(src, sqlite3_bind_int(st, 13, k->threads));
        STORE_CHAIN(src, step_done(st));
    }
    sqlite3_finalize(st);
    return src;
}

int store_insert_campaign(store *s, const store_campaign *c, dyt_err *e)
{
    if (!c->campaign || !c->campaign[0] || !c->plan_hash || c->shard_count < 1)
        return dyt_errf(e, DYT_USAGE, "%s: a campaign needs a name, a plan hash and shards",
                        s->path);
    char hash[64];
    int count = 0, found = 0;
    int rc = stored_plan(s, c->campaign, hash, sizeof hash, &count, &found, e);
    if (rc != DYT_OK)
        return rc;
    if (found) {
        if (strcmp(hash, c->plan_hash) || count != c->shard_count)
            return dyt_errf(e, DYT_USAGE,
                            "%s: campaign '%s' was planned as %d shard(s) of plan %s; this is "
                            "%d shard(s) of plan %s (other suites, filters or shard count): "
                            "give it another --campaign",
                            s->path, c->campaign, count, hash, c->shard_count, c->plan_hash);
        return DYT_OK;
    }
    char now[32];
    dyt_utc_iso(now, sizeof now);
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(s->db,
                                 "INSERT INTO campaigns (campaign, plan_hash, shard_count,"
                                 " n_cases, created_at) VALUES (?1,?2,?3,?4,?5)",
                                 -1, &st, NULL);
    STORE_CHAIN(src, bind_text(st, 1, c->campaign));
    STORE_CHAIN(src, bind_text(st, 2, c->plan_hash));
    STORE_CHAIN(src, sqlite3_bind_int(st, 3, c->shard_count));
    STORE_CHAIN(src, bind_u64(st, 4, c->n));
    STORE_CHAIN(src, bind_text(st, 5, c->created_at ? c->created_at : now));
    STORE_CHAIN(src, step_done(st));
    sqlite3_finalize(st);
    if (src == SQLITE_OK)
        src = insert_cases(s->db, c);
    if (src != SQLITE_OK)
        return store_sqlite_err(e, s->db, "%s: storing campaign '%s': %s", s->path, c->campaign,
                                sqlite3_errmsg(s->db));
    return DYT_OK;
}

int store_put_campaign(store *s, const store_campaign *c, dyt_err *e)
{
    int rc = store_write_begin(s, e);
    if (rc != DYT_OK)
        return rc;
    if ((rc = store_insert_campaign(s, c, e)) != DYT_OK) {
        store_write_abort(s);
        return rc;
    }
    return store_write_commit(s, e);
}

static void fill_plan_case(store_row *r, void *item)
{
    store_plan_case *x = item;
    x->seq = (int)store_col_int(r);
    x->shard_index = (int)store_col_int(r);
    const char **text[] = {&x->suite,   &x->model, &x->token_label, &x->norm,
                           &x->variant, &x->dtype, &x->pass};
    for (size_t i = 0; i < DYT_ARRAY_LEN(text); i++)
        *text[i] = store_col_text(r);
    x->rows = store_col_int(r);
    x->cols = store_col_int(r);
    x->threads = (int)store_col_int(r);
}

/* The campaigns row: its strings into out's text (one text, so a bare
 * row of one item shares it with the cases). */
static void fill_campaign(store_row *r, void *item)
{
    store_campaign *x = item;
    x->campaign = store_col_text(r);
    x->plan_hash = store_col_text(r);
    x->shard_count = (int)store_col_int(r);
    x->created_at = store_col_text(r);
}

int store_load_campaign(store *s, const char *campaign, store_campaign *out, int *found, dyt_err *e)
{
    memset(out, 0, sizeof *out);
    *found = 0;
    sqlite3_stmt *st;
    int rc = store_prepare(s,
                           "SELECT campaign, plan_hash, shard_count, created_at FROM campaigns"
                           " WHERE campaign = ?1",
                           "reading the campaign", &st, e);
    if (rc != DYT_OK)
        return rc;
    sqlite3_bind_text(st, 1, campaign, -1, SQLITE_TRANSIENT);
    void *v = NULL;
    size_t n = 0;
    rc = store_collect(s, st, "reading the campaign", sizeof *out, fill_campaign, &v, &n,
                       &out->text, e);
    if (rc != DYT_OK || n == 0) {
        free(v);
        store_campaign_free(out);
        return rc;
    }
    store_text *text = out->text;
    *out = *(store_campaign *)v;
    out->text = text;
    free(v);
    if (store_prepare(s,
                      "SELECT seq, shard_index, suite, model, token_label, norm, variant, dtype,"
                      " pass, rows, cols, threads FROM campaign_cases WHERE campaign = ?1"
                      " ORDER BY seq",
                      "reading the campaign's cases", &st, e) != DYT_OK) {
        store_campaign_free(out);
        return DYT_USAGE;
    }
    sqlite3_bind_text(st, 1, campaign, -1, SQLITE_TRANSIENT);
    store_text *cases_text = NULL;
    rc = store_collect(s, st, "reading the campaign's cases", sizeof *out->v, fill_plan_case, &v,
                       &out->n, &cases_text, e);
    if (rc != DYT_OK) {
        store_campaign_free(out);
        return rc;
    }
    out->v = v;
    store_text_append(&out->text, cases_text);
    *found = 1;
    return DYT_OK;
}

void store_campaign_free(store_campaign *c)
{
    store_list_free(c->v, c->text);
    memset(c, 0, sizeof *c);
}

static void fill_name(store_row *r, void *item)
{
    *(const char **)item = store_col_text(r);
}

int store_list_campaigns(store *s, store_name_list *out, dyt_err *e)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st;
    int rc = store_prepare(s, "SELECT campaign FROM campaigns ORDER BY campaign",
                           "reading campaigns", &st, e);
    if (rc != DYT_OK)
        return rc;
    void *v = NULL;
    rc = store_collect(s, st, "reading campaigns", sizeof *out->v, fill_name, &v, &out->n,
                       &out->text, e);
    out->v = v;
    return rc;
}

void store_name_list_free(store_name_list *l)
{
    store_list_free((void *)l->v, l->text);
    memset(l, 0, sizeof *l);
}
