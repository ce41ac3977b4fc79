/* Stores the user cannot write. `list`, `show`, `report` and `compare`
 * read a store in a folder they may not write, a store file they may not
 * write, and a store on a read-only mount, exit 0, and leave no -wal or
 * -shm file behind (nor do they in a writable folder); `run` into such a
 * store exits 3 (an output that cannot be written). The readers run as
 * the user `nobody` when the test runs as root (which ignores permission
 * bits), or under the test's own uid with the permissions taken away; the
 * read-only mount needs root and a private mount namespace (unshare), and
 * is skipped with the reason where the system refuses one. argv[1] is the
 * dytbench binary. */
#include "store_test.h"
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

static uid_t nobody_uid;
static gid_t nobody_gid;

/* Child side: becomes the reading user (nobody, when root), optionally in
 * a private mount namespace with dir bound read-only onto itself, then
 * runs the shell command. Exit 77: the system refused the set-up. */
static void become_reader(const char *ro_mount_dir)
{
    if (ro_mount_dir) {
        if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount(ro_mount_dir, ro_mount_dir, NULL, MS_BIND, NULL) != 0 ||
            mount(NULL, ro_mount_dir, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0) {
            fprintf(stderr, "read-only bind mount refused: %s\n", strerror(errno));
            _exit(77);
        }
        return; /* root on a read-only mount: permissions do not help it */
    }
    if (getuid() == 0 && (setgroups(0, NULL) != 0 || setgid(nobody_gid) != 0 ||
                          setuid(nobody_uid) != 0)) {
        fprintf(stderr, "cannot become nobody: %s\n", strerror(errno));
        _exit(77);
    }
    if (access(dytbench_exe, X_OK) != 0) {
        fprintf(stderr, "%s is not executable by uid %d\n", dytbench_exe, (int)getuid());
        _exit(77);
    }
}

/* Runs `dytbench <args>` as the reader; its exit status. */
static int as_reader(const char *ro_mount_dir, const char *args)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        become_reader(ro_mount_dir);
        char cmd[3000];
        snprintf(cmd, sizeof cmd, "'%s' %s >/dev/null 2>%s/err/reader.err", dytbench_exe, args,
                 tmpdir);
        int st = system(cmd);
        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    }
    return wait_exit(pid);
}

static void show_reader_error(void)
{
    char p[400];
    snprintf(p, sizeof p, "%s/err/reader.err", tmpdir);
    long n;
    char *t = slurp(p, &n);
    if (t && n > 0)
        print_error("reader said: %.*s\n", (int)n, t);
    free(t);
}

static int side_files(const char *db)
{
    char p[700];
    int n = 0;
    snprintf(p, sizeof p, "%s-wal", db);
    n += file_exists(p);
    snprintf(p, sizeof p, "%s-shm", db);
    n += file_exists(p);
    snprintf(p, sizeof p, "%s-journal", db);
    n += file_exists(p);
    return n;
}

/* Two complete runs of a one-case suite into dir/s.db. */
static void make_store(const char *dir, char *db, size_t n)
{
    assert_int_equal(mkdir(dir, 0755) == 0 || errno == EEXIST, 1);
    snprintf(db, n, "%s/s.db", dir);
    char suite[600], cmd[2000];
    snprintf(suite, sizeof suite, "%s/one.suite", tmpdir);
    FILE *f = fopen(suite, "w");
    assert_non_null(f);
    fputs("[m]\ndomain = llm\nnorm = rmsnorm\nhidden = 64\ntokens = 4\nlayers = 1\n", f);
    fclose(f);
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd,
                 "'%s' run --suite '%s' --pass fwd --norm dyt --quick -q --db '%s' >/dev/null",
                 dytbench_exe, suite, db);
        assert_int_equal(system(cmd), 0);
    }
    assert_int_equal(side_files(db), 0);
}

/* Every reader exits 0 on db, leaving its bytes and no side file; the
 * report goes to out (writable by the reader). */
static void expect_readers_work(const char *ro_mount_dir, const char *db, const char *out)
{
    long len0, len1;
    char *b0 = slurp(db, &len0);
    char args[4][1500];
    snprintf(args[0], sizeof args[0], "list runs --db '%s'", db);
    snprintf(args[1], sizeof args[1], "show 1 --db '%s'", db);
    snprintf(args[2], sizeof args[2], "compare 1 2 --db '%s'", db);
    snprintf(args[3], sizeof args[3], "report 2 --db '%s' --out '%s' --no-figures", db, out);
    for (int i = 0; i < 4; i++) {
        int rc = as_reader(ro_mount_dir, args[i]);
        if (rc == 77)
            skip();
        if (i == 2 && rc == DYT_FAIL) /* compare: two real runs may differ */
            rc = DYT_OK;
        if (rc != 0) {
            print_error("dytbench %s: exit %d\n", args[i], rc);
            show_reader_error();
        }
        assert_int_equal(rc, 0);
        if (side_files(db))
            print_error("dytbench %s left a side file beside %s\n", args[i], db);
        assert_int_equal(side_files(db), 0);
    }
    char *b1 = slurp(db, &len1);
    assert_int_equal(len0, len1);
    assert_memory_equal(b0, b1, (size_t)len0);
    free(b0);
    free(b1);
}

/* A folder for the reader's report. */
static void reader_out(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", tmpdir, name);
    assert_int_equal(mkdir(out, 0777), 0);
    assert_int_equal(chmod(out, 0777), 0);
}

/* A store in tmpdir/name with the file and its folder in these modes,
 * read by every reader (its report into a folder of its own). */
typedef struct {
    const char *name;
    mode_t file_mode, dir_mode;
} store_modes;

static const store_modes modes[] = {
    /* The store's folder and file are not writable by the reader. */
    {"ro-folder", 0444, 0555},
    /* The folder is writable, the file is not: a read-only connection
     * would create -wal and -shm and could not remove them. */
    {"ro-file", 0444, 0777},
    /* Readers of a store they may write leave no side file either. */
    {"rw", 0666, 0777},
};

static void test_readers_with_modes(void **state)
{
    (void)state;
    for (const store_modes *m = modes; m < modes + DYT_ARRAY_LEN(modes); m++) {
        char dir[400], db[500], out[500], out_name[64];
        snprintf(dir, sizeof dir, "%s/%s", tmpdir, m->name);
        make_store(dir, db, sizeof db);
        assert_int_equal(chmod(db, m->file_mode), 0);
        assert_int_equal(chmod(dir, m->dir_mode), 0);
        snprintf(out_name, sizeof out_name, "out-%s", m->name);
        reader_out(out, sizeof out, out_name);
        expect_readers_work(NULL, db, out);
        assert_int_equal(chmod(dir, 0755), 0);
    }
}

/* A read-only mount: even root cannot write it. */
static void test_readonly_mount(void **state)
{
    (void)state;
    if (getuid() != 0) {
        print_message("skipped: a read-only bind mount needs root\n");
        skip();
    }
    char dir[400], db[500], out[500];
    snprintf(dir, sizeof dir, "%s/ro-mount", tmpdir);
    make_store(dir, db, sizeof db);
    reader_out(out, sizeof out, "out-mount");
    expect_readers_work(dir, db, out);
}

/* run into a store it cannot write: exit 3, named, the store untouched. */
static void test_run_into_readonly_store(void **state)
{
    (void)state;
    char dir[400], db[500], suite[600], args[2000];
    snprintf(dir, sizeof dir, "%s/ro-run", tmpdir);
    make_store(dir, db, sizeof db);
    assert_int_equal(chmod(db, 0444), 0);
    assert_int_equal(chmod(dir, 0555), 0);
    snprintf(suite, sizeof suite, "%s/one.suite", tmpdir);
    snprintf(args, sizeof args, "run --suite '%s' --pass fwd --norm dyt --quick -q --db '%s'", suite,
             db);
    int rc = as_reader(NULL, args);
    if (rc == 77)
        skip();
    show_reader_error();
    assert_int_equal(rc, DYT_RESOURCE);
    assert_int_equal(side_files(db), 0);
    assert_int_equal(chmod(dir, 0755), 0);
}

/* The reader (nobody) must reach the stores and write its messages. */
static int setup(void **state)
{
    (void)state;
    char err[400];
    snprintf(err, sizeof err, "%s/err", tmpdir);
    if (chmod(tmpdir, 0755) != 0 || mkdir(err, 0777) != 0 || chmod(err, 0777) != 0) {
        perror(err);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    dytbench_exe = argc > 1 ? argv[1] : "dytbench";
    struct passwd *pw = getpwnam("nobody");
    if (getuid() == 0 && !pw) {
        fprintf(stderr, "skipped: running as root and there is no user 'nobody' to read as\n");
        return 77;
    }
    nobody_uid = pw ? pw->pw_uid : getuid();
    nobody_gid = pw ? pw->pw_gid : getgid();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readers_with_modes),
        cmocka_unit_test(test_readonly_mount),
        cmocka_unit_test(test_run_into_readonly_store),
    };
    return run_group("store-readonly", "/tmp/dytbench-store-readonly", tests,
                     DYT_ARRAY_LEN(tests), setup, NULL);
}
