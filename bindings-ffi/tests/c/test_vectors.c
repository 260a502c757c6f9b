/* The shared vectors (every JSON file in tests/vectors) through the C face.
 *
 * Usage: test_vectors FILE.json...   (a file of the "http" suite is skipped: see test_http)
 *
 * Each case names a configuration and a token and expects either the claims (compared as
 * JSON values) or an error kind; a configuration that cannot be built counts as the
 * error kind "config", as in every other face. Each token is validated twice: the second
 * answer comes from the result cache and must be the same. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwtgate.h"
#include "check.h"

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger) { free(buf); buf = NULL; }
            buf = bigger;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

/* One validation; returns the kind ("ok" on success) and, on success, the claims parsed. */
static const char *validate_once(const jwtgate_validator *v, const char *token,
                                 cJSON **claims_out, char *message, size_t message_cap) {
    jwtgate_claims *claims = NULL;
    jwtgate_error *err = NULL;
    jwtgate_result r = jwtgate_validate(v, (const uint8_t *)token, strlen(token), &claims, &err);
    *claims_out = NULL;
    message[0] = 0;
    if (r != JWTGATE_OK) {
        const char *kind = jwtgate_error_kind(err); /* static: outlives the error */
        /* The error's code is the result; the out-parameter stays untouched. */
        if (jwtgate_error_code(err) != r) kind = "code-differs-from-result";
        if (claims != NULL) kind = "out-written-on-failure";
        snprintf(message, message_cap, "%s", jwtgate_error_message(err));
        jwtgate_error_free(err);
        return kind;
    }
    const uint8_t *json = NULL;
    size_t json_len = 0;
    if (jwtgate_claims_json(claims, &json, &json_len) == JWTGATE_OK) {
        *claims_out = cJSON_ParseWithLength((const char *)json, json_len);
    }
    const uint8_t *header = NULL;
    size_t header_len = 0;
    if (jwtgate_claims_header_json(claims, &header, &header_len) == JWTGATE_OK) {
        cJSON *h = cJSON_ParseWithLength((const char *)header, header_len);
        if (!h || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(h, "alg")))
            snprintf(message, message_cap, "header JSON has no alg");
        cJSON_Delete(h);
    }
    if (err != NULL) snprintf(message, message_cap, "err written on success");
    jwtgate_claims_free(claims);
    return "ok";
}

static void run_file(const char *path) {
    size_t len = 0;
    char *text = read_file(path, &len);
    if (!text) {
        fprintf(stderr, "FAIL %s: cannot read\n", path);
        checks_failed++;
        return;
    }
    cJSON *doc = cJSON_ParseWithLength(text, len);
    free(text);
    if (!doc) {
        fprintf(stderr, "FAIL %s: not JSON\n", path);
        checks_failed++;
        return;
    }
    /* http.json holds HTTP answers, not tokens: test_http reads it. */
    const char *suite = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "suite"));
    if (suite && strcmp(suite, "http") == 0) {
        cJSON_Delete(doc);
        return;
    }
    const cJSON *configs = cJSON_GetObjectItemCaseSensitive(doc, "configs");
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(doc, "cases");
    const cJSON *c;
    cJSON_ArrayForEach(c, cases) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "name"));
        const char *config_name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "config"));
        const char *token = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "token"));
        const cJSON *expect = cJSON_GetObjectItemCaseSensitive(c, "expect");
        int want_valid = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(expect, "valid"));
        const char *want_error = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(expect, "error"));
        const cJSON *want_claims = cJSON_GetObjectItemCaseSensitive(expect, "claims");
        if (!name || !config_name || !token) {
            fprintf(stderr, "FAIL %s: a case lacks name, config or token\n", path);
            checks_failed++;
            continue;
        }

        /* One CHECK per case: the first problem found is its failure message. */
        char problem[768] = "";
        char *config = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(configs, config_name));
        jwtgate_validator *v = NULL;
        jwtgate_error *err = NULL;
        jwtgate_result r = jwtgate_validator_new((const uint8_t *)config, strlen(config), &v, &err);
        cJSON_free(config);
        if (r != JWTGATE_OK) {
            const char *kind = jwtgate_error_kind(err);
            if (v != NULL)
                snprintf(problem, sizeof problem, "out written on failure");
            else if (want_valid || !want_error || strcmp(kind, want_error) != 0)
                snprintf(problem, sizeof problem, "configuration refused with %s (%s), expected %s",
                         kind, jwtgate_error_message(err), want_valid ? "valid" : want_error);
            jwtgate_error_free(err);
        } else {
            for (int round = 0; round < 2 && !problem[0]; round++) {
                cJSON *claims = NULL;
                char message[512];
                const char *kind = validate_once(v, token, &claims, message, sizeof message);
                if (want_valid && strcmp(kind, "ok") != 0)
                    snprintf(problem, sizeof problem, "round %d: rejected with %s: %s", round, kind, message);
                else if (want_valid && !(claims && cJSON_Compare(claims, want_claims, 1)))
                    snprintf(problem, sizeof problem, "round %d: claims differ", round);
                else if (!want_valid && (!want_error || strcmp(kind, want_error) != 0))
                    snprintf(problem, sizeof problem, "round %d: expected %s, got %s (%s)", round,
                             want_error ? want_error : "?", kind, message);
                else if (strcmp(kind, "ok") == 0 && message[0])
                    snprintf(problem, sizeof problem, "round %d: %s", round, message);
                cJSON_Delete(claims);
            }
            jwtgate_validator_free(v);
        }
        CHECK(!problem[0], "%s: %s: %s", path, name, problem);
    }
    cJSON_Delete(doc);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s VECTORS.json...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) run_file(argv[i]);
    return check_summary("c_vectors");
}
