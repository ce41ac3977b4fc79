/* The driver of a fuzz target in a build without libFuzzer (-Dfuzz
 * disabled, any compiler): every file of the corpus folders given runs
 * once through the target, so the seeds -- and any crash a fuzz run found
 * and saved there -- are regression tests of every build. */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (size_t got;; n += got) {
        if (n == cap && !(buf = realloc(buf, cap = cap ? 2 * cap : 65536)))
            abort();
        if (!(got = fread(buf + n, 1, cap - n, f)))
            break;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    size_t runs = 0;
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (!d) {
            bad |= run_file(argv[i]);
            runs++;
            continue;
        }
        for (struct dirent *de; (de = readdir(d));) {
            char path[4096];
            struct stat sb;
            snprintf(path, sizeof path, "%s/%s", argv[i], de->d_name);
            if (de->d_name[0] == '.' || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
                continue;
            bad |= run_file(path);
            runs++;
        }
        closedir(d);
    }
    fprintf(stderr, "%zu input(s) run\n", runs);
    return bad || runs == 0;
}
