/* Internals of the results store shared by its files: store.c (open,
 * validate, stale runs), txn.c (transactions), store_write.c (the INSERTs),
 * store_read.c (the read API) and migrate.c (schema versions). Tests
 * include it to build databases of older versions. */
#pragma once
#include "store.h"
#include <sqlite3.h>

struct store {
    sqlite3 *db;
    char *path;
    int readonly; /* opened read-only: the file is not writable by us */
};

/* results/schema.sql as compiled in (generated schema_sql.c). */
extern const char store_schema_sql[];
/* Schema version 1 (no machine_attrs, no calibrations), kept verbatim so a
 * v1 database can be migrated and the migration tested. */
extern const char store_schema_v1_sql[];

/* How long one statement waits for another writer's lock, and how long
 * store_begin keeps retrying after that. A case's transaction is short (a
 * few thousand rows) so these are generous. */
#define STORE_BUSY_TIMEOUT_MS 10000
#define STORE_BEGIN_RETRY_MS 60000

/* txn.c: BEGIN IMMEDIATE, retried on SQLITE_BUSY beyond the busy timeout so that
 * two writers of one DB both get through. */
int store_begin(sqlite3 *db, const char *path, dyt_err *e);
int store_commit(sqlite3 *db, const char *path, dyt_err *e);
void store_rollback(sqlite3 *db);

/* Brings a database at version `from` (1 <= from < STORE_SCHEMA_VERSION)
 * to STORE_SCHEMA_VERSION, each step in its own transaction. */
int store_migrate(sqlite3 *db, const char *path, dyt_err *e);
/* The same, stopping at version `to` (<= STORE_SCHEMA_VERSION): the tests
 * build the databases older builds wrote from store_schema_v1_sql. */
int store_migrate_to(sqlite3 *db, const char *path, int to, dyt_err *e);

/* uuid.c: a fresh random UUID ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx",
 * lower case) into out; -1 when the system has no random source. */
#define STORE_UUID_LEN 36
int store_uuid(char out[STORE_UUID_LEN + 1]);

/* This host's name and boot id (empty if unknown), as stored in runs. */
void store_hostname(char *buf, size_t n);
void store_boot_id(char *buf, size_t n);
