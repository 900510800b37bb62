#include "core/err.h"

struct row {
    const char *code, *type, *message;
    int status;
};

static const struct row rows[AEG__COUNT] = {
#define AEG_ROW(e, c, t, s, m) [e] = {c, t, m, s},
    AEG_ERRORS(AEG_ROW)
#undef AEG_ROW
};

static const struct row *row_of(int code)
{
    if (code < 0 || code >= AEG__COUNT)
        code = AEG_EINTERNAL;
    return &rows[code];
}

const char *aeg_code_name(int code)
{
    return row_of(code)->code;
}

const char *aeg_code_type(int code)
{
    return row_of(code)->type;
}

int aeg_code_status(int code)
{
    return row_of(code)->status;
}

const char *aeg_code_message(int code)
{
    return row_of(code)->message;
}
