/* Operating it (issue 16) through the C ABI: the event callback (on the library's own thread,
 * background refreshes delivered when they happen), metric families, the admin routes.
 * Usage: test_operate tests/vectors/valid.json */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jwtgate.h"
#include "check.h"

#define BYTES(s) ((const uint8_t *)(s))

static char *config_json;
static char *valid_token;

static void load_fixture(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    if (!text || fread(text, 1, (size_t)n, f) != (size_t)n) { fprintf(stderr, "read %s\n", path); exit(2); }
    text[n] = 0;
    fclose(f);
    cJSON *doc = cJSON_Parse(text);
    free(text);
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "cases"), 0);
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(first, "config"));
    config_json = cJSON_PrintUnformatted(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "configs"), name));
    valid_token = strdup(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(first, "token")));
    cJSON_Delete(doc);
}

/* What the callback saw, guarded by `lock`. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static pthread_t main_thread;
static int saw_cleared, saw_jwks_failure, on_main_thread, bad_ctx;
static char cleared_fields[256];

static void on_event(void *ctx, const jwtgate_event *e) {
    pthread_mutex_lock(&lock);
    if (ctx != (void *)&lock) bad_ctx = 1;
    if (pthread_equal(pthread_self(), main_thread)) on_main_thread = 1;
    if (strcmp(e->target, "jwtgate::audit") == 0 && strstr(e->fields_json, "\"cache_cleared\"")) {
        saw_cleared = 1;
        snprintf(cleared_fields, sizeof cleared_fields, "%s", e->fields_json);
    }
    if (strcmp(e->target, "jwtgate::jwks") == 0 && e->severity == 30 && strcmp(e->level, "warn") == 0 &&
        strstr(e->message, "JWKS fetch failed"))
        saw_jwks_failure = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

/* Waits up to `seconds` for `*flag`. */
static int wait_for(int *flag, int seconds) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += seconds;
    pthread_mutex_lock(&lock);
    while (!*flag) {
        if (pthread_cond_timedwait(&changed, &lock, &until) != 0) break;
    }
    int got = *flag;
    pthread_mutex_unlock(&lock);
    return got;
}

static jwtgate_validator *new_validator(const char *config) {
    jwtgate_validator *v = NULL;
    jwtgate_result r = jwtgate_validator_new(BYTES(config), strlen(config), &v, NULL);
    CHECK_RESULT(r, JWTGATE_OK);
    return v;
}

static cJSON *admin(const jwtgate_validator *v, const char *method, const char *path, const char *body) {
    char *out = NULL;
    jwtgate_result r = jwtgate_admin_handle(v, BYTES(method), strlen(method), BYTES(path), strlen(path),
                                            BYTES(body), strlen(body), &out, NULL);
    CHECK_RESULT(r, JWTGATE_OK);
    cJSON *doc = out ? cJSON_Parse(out) : NULL;
    jwtgate_string_free(out);
    return doc;
}

static int status_of(const cJSON *reply) {
    return (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(reply, "status"));
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s valid.json\n", argv[0]); return 2; }
    load_fixture(argv[1]);
    main_thread = pthread_self();

    CHECK_RESULT(jwtgate_events_set_callback(on_event, &lock, 20), JWTGATE_OK);

    /* An audit event of a call on this thread arrives on the library's thread. */
    jwtgate_validator *v = new_validator(config_json);
    size_t removed = 0;
    CHECK_RESULT(jwtgate_validator_clear_cache(v, &removed), JWTGATE_OK);
    CHECK(wait_for(&saw_cleared, 10), "no cache_cleared event");
    CHECK(strstr(cleared_fields, "\"removed\":\"0\"") != NULL, "fields: %s", cleared_fields);

    /* A background key load that fails: its warning arrives with no further call. */
    const char *remote = "{\"issuer\":\"http://127.0.0.1:9\",\"audience\":\"api\","
                         "\"jwks_uri\":\"http://127.0.0.1:9/jwks\",\"allow_http\":true,\"fetch_retries\":0}";
    jwtgate_validator *r = new_validator(remote);
    jwtgate_claims *claims = NULL;
    jwtgate_error *err = NULL;
    CHECK_RESULT(jwtgate_validate_local(r, BYTES(valid_token), strlen(valid_token), &claims, &err),
                 JWTGATE_KEYS_NOT_LOADED);
    jwtgate_error_free(err);
    CHECK(wait_for(&saw_jwks_failure, 15), "no background JWKS warning");
    pthread_mutex_lock(&lock);
    CHECK(!on_main_thread, "the callback ran on the caller's thread");
    CHECK(!bad_ctx, "ctx not passed back");
    pthread_mutex_unlock(&lock);

    /* Stopping joins the thread; nothing is called afterwards. */
    CHECK_RESULT(jwtgate_events_set_callback(NULL, NULL, 0), JWTGATE_OK);
    pthread_mutex_lock(&lock);
    saw_cleared = 0;
    pthread_mutex_unlock(&lock);
    CHECK_RESULT(jwtgate_validator_clear_cache(v, &removed), JWTGATE_OK);
    CHECK(!wait_for(&saw_cleared, 1), "an event after the callback was removed");

    /* Metric families: the histograms are there, as data. */
    char *families = NULL;
    CHECK_RESULT(jwtgate_metric_families_json(v, &families), JWTGATE_OK);
    cJSON *list = cJSON_Parse(families);
    int histograms = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, list) {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "type")), "histogram") == 0) histograms++;
    }
    CHECK(histograms == 2, "histogram families: %d", histograms);
    cJSON_Delete(list);
    jwtgate_string_free(families);

    /* Admin routes: the table, the scope rule, typed answers. */
    char *routes = NULL;
    CHECK_RESULT(jwtgate_admin_routes_json(&routes), JWTGATE_OK);
    CHECK(routes && strstr(routes, "\"jwks/refresh\""), "routes: %s", routes ? routes : "(null)");
    jwtgate_string_free(routes);
    jwtgate_error *scope_err = NULL;
    CHECK_RESULT(jwtgate_admin_check_scope(BYTES(""), 0, &scope_err), JWTGATE_CONFIG);
    jwtgate_error_free(scope_err);
    CHECK_RESULT(jwtgate_admin_check_scope(BYTES("jwtgate:admin"), 13, NULL), JWTGATE_OK);

    cJSON *stats = admin(v, "GET", "stats", "");
    CHECK(status_of(stats) == 200, "stats status");
    cJSON_Delete(stats);
    cJSON *bad = admin(v, "POST", "revoke", "{\"jti\": 5}");
    CHECK(status_of(bad) == 400, "revoke with a bad body");
    cJSON *body = cJSON_Parse(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(bad, "body")));
    CHECK(strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "kind")), "invalid_request") == 0,
          "typed 400");
    cJSON_Delete(body);
    cJSON_Delete(bad);
    cJSON *ok = admin(v, "POST", "revoke", "{\"jti\": \"j-1\"}");
    CHECK(status_of(ok) == 200, "revoke");
    cJSON_Delete(ok);
    char *out = NULL;
    CHECK_RESULT(jwtgate_admin_handle(v, BYTES("DELETE"), 6, BYTES("stats"), 5, NULL, 0, &out, NULL),
                 JWTGATE_INVALID_ARGUMENT);
    CHECK(out == NULL, "out written on failure");
    CHECK_RESULT(jwtgate_admin_handle(NULL, BYTES("GET"), 3, BYTES("stats"), 5, NULL, 0, &out, NULL),
                 JWTGATE_NULL_PARAMETER);

    jwtgate_validator_free(r);
    jwtgate_validator_free(v);
    free(config_json);
    free(valid_token);
    return check_summary("test_operate");
}
