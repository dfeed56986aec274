/*
 * standalone_driver.c -- run a libFuzzer target without libFuzzer (the
 * libgit2 idea): each argument is a file or a directory of files, each
 * file one input.  Lets gcc and the ASan builds replay the checked-in
 * corpora (tests/fuzz/corpus/<target>/) as ordinary CTest tests.
 */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long size;

    if (!f || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "%s: cannot read\n", path);
        if (f)
            fclose(f);
        return -1;
    }
    buf = malloc((size_t)size + 1);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "%s: cannot read\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)size);
    free(buf);
    return 0;
}

int
main(int argc, char **argv)
{
    char path[4096];
    struct dirent *e;
    struct stat sb;
    unsigned runs = 0;
    int i, bad = 0;
    DIR *d;

    for (i = 1; i < argc; i++) {
        if (stat(argv[i], &sb) < 0) {
            fprintf(stderr, "%s: not found\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(sb.st_mode)) {
            bad |= run_file(argv[i]) < 0;
            runs++;
            continue;
        }
        if (!(d = opendir(argv[i])))
            return 1;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
            bad |= run_file(path) < 0;
            runs++;
        }
        closedir(d);
    }
    printf("%u inputs replayed\n", runs);
    return bad || runs == 0;
}
