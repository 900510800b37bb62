/*
 * aegis onboard --name NAME --email EMAIL [--plan PLAN] [--password-stdin]
 * aegis keys list --org ID | create --org ID --name NAME [--role ROLE] [--expires ISO] | revoke --org ID KEY_ID
 * aegis audit verify [--org ID]
 * Operator commands against the configured database. Keys are printed once, on stdout, and nowhere else.
 */
#include "cli/cli.h"

#include "api/api.h"
#include "auth/auth.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Finds --name VALUE style options; returns the value or NULL. Marks used arguments. */
static const char *opt(int argc, char **argv, const char *name)
{
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], name))
            return argv[i + 1];
    return NULL;
}

static bool flag(int argc, char **argv, const char *name)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], name))
            return true;
    return false;
}

/* Every argument is a known option (with its value) or, at most `npos`, a positional. */
static bool args_ok(int argc, char **argv, const char *const *with_value, const char *const *flags,
                    int npos)
{
    int pos = 0;
    for (int i = 0; i < argc; i++) {
        bool known = false;
        for (int k = 0; with_value[k] && !known; k++)
            if (!strcmp(argv[i], with_value[k])) {
                known = true;
                i++;
                if (i >= argc)
                    return false;
            }
        for (int k = 0; flags && flags[k] && !known; k++)
            known = !strcmp(argv[i], flags[k]);
        if (!known && (argv[i][0] == '-' || ++pos > npos))
            return false;
    }
    return true;
}

static int read_password(char *out, size_t n)
{
    if (!fgets(out, (int)n, stdin))
        return -1;
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

int cli_onboard(int argc, char **argv)
{
    static const char *const vals[] = {"--name", "--email", "--plan", NULL};
    static const char *const flags[] = {"--password-stdin", NULL};
    const char *name = opt(argc, argv, "--name"), *email = opt(argc, argv, "--email");
    if (!args_ok(argc, argv, vals, flags, 0) || !name || !email) {
        fprintf(stderr, "usage: aegis onboard --name NAME --email EMAIL [--plan free|starter|pro|"
                        "enterprise] [--password-stdin]\n");
        return CLI_USAGE;
    }
    char password[1100] = "";
    if (flag(argc, argv, "--password-stdin") && read_password(password, sizeof password)) {
        fprintf(stderr, "aegis: --password-stdin: no password on standard input\n");
        return CLI_USAGE;
    }
    struct cfg c;
    struct store *s = NULL;
    int rc = cli_open(&c, &s);
    if (rc)
        goto out;
    struct signup in = {.org_name = name, .email = email,
                        .password = password[0] ? password : NULL,
                        .plan = opt(argc, argv, "--plan")};
    struct auth_req rq = {.request_id = "cli", .ip = "local"};
    struct signup_result res;
    const char *why = NULL;
    int e = auth_signup(s, &c, &in, &rq, &res, &why);
    memset(password, 0, sizeof password);
    if (e) {
        fprintf(stderr, "aegis: cannot onboard: %s\n", why ? why : aeg_code_message(e));
        rc = e == AEG_EINVAL || e == AEG_ECONFLICT ? CLI_USAGE : CLI_FAIL;
        goto out;
    }
    printf("organization  %s  %s\nowner         %s\napi key       %s\n\n"
           "The API key is shown once: store it now. Try:\n"
           "  curl -H 'Authorization: Bearer %s' http://%s:%ld/api/v1/me\n",
           res.org_id, name, res.user_id, res.api_key, res.api_key, c.host, c.port);
    memset(&res, 0, sizeof res);
out:
    store_close(s);
    cfg_free(&c);
    return rc;
}

static void print_key(const struct key_row *k, void *arg)
{
    (void)arg;
    char t[CLOCK_ISO_LEN];
    printf("%s  %-14s %-8s %-24s created %s%s\n", k->id, k->prefix, k->role, k->name,
           clock_fmt_iso(k->created_at, t), k->revoked_at ? "  REVOKED" : "");
}

int cli_keys(int argc, char **argv)
{
    static const char *const vals[] = {"--org", "--name", "--role", "--expires", NULL};
    const char *sub = argc > 0 ? argv[0] : "";
    const char *org = opt(argc, argv, "--org");
    bool ok = org && args_ok(argc - 1, argv + 1, vals, NULL, !strcmp(sub, "revoke") ? 1 : 0);
    if (!ok || (strcmp(sub, "list") && strcmp(sub, "create") && strcmp(sub, "revoke")) ||
        (!strcmp(sub, "create") && !opt(argc, argv, "--name"))) {
        fprintf(stderr, "usage: aegis keys list --org ORG_ID\n"
                        "       aegis keys create --org ORG_ID --name NAME [--role ROLE] "
                        "[--expires ISO8601]\n"
                        "       aegis keys revoke --org ORG_ID KEY_ID\n");
        return CLI_USAGE;
    }
    struct cfg c;
    struct store *s = NULL;
    int rc = cli_open(&c, &s);
    if (rc)
        goto out;
    struct tenant t = {.org_id = org};
    struct db *db = store_conn(s);
    struct org_row o;
    int e = store_org_get(db, &t, &o);
    store_release(s, db);
    if (e) {
        fprintf(stderr, "aegis: organization %s: %s\n", org,
                e == AEG_ENOTFOUND ? "no such organization" : aeg_code_message(e));
        rc = CLI_FAIL;
        goto out;
    }
    org_row_free(&o);
    /* the operator acts as the system, with the owner's reach inside this organisation */
    struct principal who = {.actor_type = "system", .role = ROLE_OWNER};
    snprintf(who.org_id, sizeof who.org_id, "%s", org);
    struct auth_req rq = {.request_id = "cli", .ip = "local"};
    if (!strcmp(sub, "list")) {
        db = store_conn(s);
        e = store_key_list(db, &t, print_key, NULL);
        store_release(s, db);
    } else if (!strcmp(sub, "create")) {
        const char *role_s = opt(argc, argv, "--role"), *exp = opt(argc, argv, "--expires");
        int role = role_s ? role_parse(role_s) : ROLE_ANALYST;
        int64_t expires = 0;
        const char *bad = !*opt(argc, argv, "--name") ? "--name must not be empty"
                          : !role ? "--role must be owner, admin, analyst or viewer"
                          : (exp && (clock_parse_iso(exp, &expires) || expires <= clock_now_ms()))
                              ? "--expires must be a future ISO 8601 time"
                              : NULL;
        if (bad) {
            fprintf(stderr, "aegis: %s\n", bad);
            rc = CLI_USAGE;
            goto out;
        }
        struct key_row k;
        char key[AUTH_KEY_LEN + 1];
        e = auth_create_key(s, &c, &who, &rq, opt(argc, argv, "--name"), role, expires, &k, key);
        if (!e) {
            printf("%s  %s  %s\n\nThe key is shown once: store it now.\n", k.id, k.role, key);
            memset(key, 0, sizeof key);
            key_row_free(&k);
        }
    } else {
        const char *id = NULL;
        for (int i = 1; i < argc; i++) {
            if (!strcmp(argv[i], "--org")) {
                i++;
                continue;
            }
            id = argv[i];
        }
        if (!id) {
            fprintf(stderr, "usage: aegis keys revoke --org ORG_ID KEY_ID\n");
            rc = CLI_USAGE;
            goto out;
        }
        db = store_conn(s);
        e = db_begin_write(db);
        if (!e)
            e = store_key_revoke(db, &t, id, clock_now_ms());
        if (!e)
            e = auth_audit(db, &c, org, &who, &rq, "key.revoked", "api_key", id, "success", NULL);
        e = e ? e : db_commit(db);
        if (e)
            db_rollback(db);
        store_release(s, db);
        if (!e)
            printf("revoked %s\n", id);
    }
    if (e) {
        fprintf(stderr, "aegis: keys %s: %s\n", sub,
                e == AEG_ENOTFOUND  ? "no such key in this organization"
                : e == AEG_ECONFLICT ? "the key is already revoked"
                                     : aeg_code_message(e));
        rc = CLI_FAIL;
    }
out:
    store_close(s);
    cfg_free(&c);
    return rc;
}

int cli_audit(int argc, char **argv)
{
    static const char *const vals[] = {"--org", NULL};
    if (argc < 1 || strcmp(argv[0], "verify") || !args_ok(argc - 1, argv + 1, vals, NULL, 0)) {
        fprintf(stderr, "usage: aegis audit verify [--org ORG_ID]\n");
        return CLI_USAGE;
    }
    const char *org = opt(argc, argv, "--org");
    struct cfg c;
    struct store *s = NULL;
    int rc = cli_open(&c, &s);
    if (rc)
        goto out;
    char key[65];
    auth_audit_key(&c, key);
    int64_t rows = 0, chains = 0;
    struct audit_problem p;
    struct db *db = store_conn(s);
    int e = store_audit_verify(db, key, org, &rows, &chains, &p);
    store_release(s, db);
    if (e == AEG_ECONFLICT) {
        printf("TAMPERED: organization %s, row %lld%s%s: %s (%s)\n", p.org_id, (long long)p.seq,
               p.row_id[0] ? ", id " : "", p.row_id, p.message, p.kind);
        rc = CLI_FAIL;
    } else if (e) {
        fprintf(stderr, "aegis: audit verify: %s\n", aeg_code_message(e));
        rc = CLI_FAIL;
    } else {
        printf("ok: %lld row(s) in %lld chain(s) verified\n", (long long)rows, (long long)chains);
    }
out:
    store_close(s);
    cfg_free(&c);
    return rc;
}
