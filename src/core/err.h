/*
 * err: the one error table of Aegis.
 *
 * Every fallible function returns an `int` that is AEG_OK (0) or one of the codes below. The table gives
 * each code its wire name (`code`), its class (`type`), the HTTP status it maps to and a default message.
 * Details (which field, which position) travel beside the code in the caller's context; only the HTTP
 * layer turns a code into the JSON body {"error":{"type","code","message","request_id"}}, and only the CLI
 * turns it into a message and an exit code. Pure data: no allocation, no I/O.
 */
#ifndef AEGIS_CORE_ERR_H
#define AEGIS_CORE_ERR_H

/*  X(enum, code, type, http status, default message) */
#define AEG_ERRORS(X)                                                                              \
    X(AEG_OK, "ok", "ok", 200, "OK")                                                              \
    X(AEG_EINVAL, "invalid_request", "invalid_request_error", 400, "The request is invalid.")     \
    X(AEG_EJSON, "malformed_json", "invalid_request_error", 400, "The body is not valid JSON.")  \
    X(AEG_EUNAUTH, "unauthenticated", "authentication_error", 401,                                \
      "Authentication is required.")                                                              \
    X(AEG_EFORBIDDEN, "forbidden", "permission_error", 403,                                       \
      "Your role does not allow this action.")                                                    \
    X(AEG_ENOTFOUND, "not_found", "not_found_error", 404, "No such object.")                      \
    X(AEG_ENOROUTE, "route_not_found", "not_found_error", 404, "No such route.")                  \
    X(AEG_EMETHOD, "method_not_allowed", "invalid_request_error", 405,                            \
      "This method is not allowed on this route.")                                                \
    X(AEG_ETIMEOUT, "request_timeout", "invalid_request_error", 408,                              \
      "The request took too long to arrive.")                                                     \
    X(AEG_ECONFLICT, "conflict", "invalid_request_error", 409,                                    \
      "The request conflicts with the current state.")                                            \
    X(AEG_ELEASE, "lease_lost", "conflict_error", 409, "The job lease is no longer held.")        \
    X(AEG_ELIMIT, "limit_exceeded", "invalid_request_error", 422,                                 \
      "The request exceeds a configured limit.")                                                  \
    X(AEG_ETOOLARGE, "body_too_large", "invalid_request_error", 413,                              \
      "The request body is larger than the limit.")                                               \
    X(AEG_EMEDIA, "unsupported_media_type", "invalid_request_error", 415,                         \
      "The body must be JSON (Content-Type: application/json).")                                  \
    X(AEG_ERATE, "rate_limited", "rate_limit_error", 429, "Too many requests.")                   \
    X(AEG_EINTERNAL, "internal_error", "api_error", 500, "An internal error occurred.")           \
    X(AEG_EDB, "database_error", "api_error", 500, "A database error occurred.")                  \
    X(AEG_EIO, "io_error", "api_error", 500, "An I/O error occurred.")                            \
    X(AEG_ECONFIG, "invalid_config", "config_error", 500, "The configuration is invalid.")        \
    X(AEG_EUNAVAIL, "unavailable", "api_error", 503, "The service is not ready.")

enum aeg_code {
#define AEG_ENUM(e, c, t, s, m) e,
    AEG_ERRORS(AEG_ENUM)
#undef AEG_ENUM
        AEG__COUNT
};

/* Accessors; an out-of-range code maps to AEG_EINTERNAL's row. */
const char *aeg_code_name(int code);    /* "body_too_large" */
const char *aeg_code_type(int code);    /* "invalid_request_error" */
int aeg_code_status(int code);          /* 413 */
const char *aeg_code_message(int code); /* the default message */

#endif
