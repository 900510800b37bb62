#include "core/fmt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *fmt_money(double v, char *out, size_t n)
{
    char digits[400];
    snprintf(digits, sizeof digits, "%.0f", fabs(v));
    size_t len = strlen(digits), o = 0;
    if (v <= -0.5 && o + 1 < n)
        out[o++] = '-';
    for (size_t i = 0; i < len && o + 2 < n; i++) {
        if (i && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    return out;
}
