/* A minimal test harness: CHECK counts, the summary line is the plain
 * "N passed, N failed" that CI reads. */
#ifndef JWTGATE_TEST_CHECK_H
#define JWTGATE_TEST_CHECK_H

#include <stdio.h>

static int checks_passed = 0;
static int checks_failed = 0;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (cond) {                                                        \
            checks_passed++;                                               \
        } else {                                                           \
            checks_failed++;                                               \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);           \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

#define CHECK_RESULT(got, want)                                            \
    CHECK((got) == (want), "%s: got %u (%s), want %u (%s)", #got,          \
          (unsigned)(got), jwtgate_result_name(got), (unsigned)(want),     \
          jwtgate_result_name(want))

static int check_summary(const char *suite) {
    printf("%s: %d passed, %d failed\n", suite, checks_passed, checks_failed);
    return checks_failed == 0 ? 0 : 1;
}

#endif
