#include "AgentName.h"

namespace wstunnel {

namespace {

bool isNameCharacter(QChar c)
{
    return (c >= QLatin1Char('a') && c <= QLatin1Char('z')) ||
           (c >= QLatin1Char('A') && c <= QLatin1Char('Z')) ||
           (c >= QLatin1Char('0') && c <= QLatin1Char('9')) || c == QLatin1Char('.') ||
           c == QLatin1Char('_') || c == QLatin1Char('-');
}

bool consistsOf(const QString &text, bool starAllowed)
{
    if (text.isEmpty() || text.size() > AgentName::kMaxLength)
        return false;
    for (const QChar c : text) {
        if (!isNameCharacter(c) && !(starAllowed && c == QLatin1Char('*')))
            return false;
    }
    return true;
}

// Glob match with '*' as the only wildcard; iterative, so no pattern can make it slow.
bool globMatch(QStringView pattern, QStringView name)
{
    qsizetype p = 0;
    qsizetype n = 0;
    qsizetype starAt = -1;
    qsizetype resumeAt = 0;
    while (n < name.size()) {
        if (p < pattern.size() && pattern[p] == QLatin1Char('*')) {
            starAt = p++;
            resumeAt = n;
        } else if (p < pattern.size() && pattern[p] == name[n]) {
            ++p;
            ++n;
        } else if (starAt >= 0) {
            p = starAt + 1;
            n = ++resumeAt;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == QLatin1Char('*'))
        ++p;
    return p == pattern.size();
}

} // namespace

bool AgentName::isValid(const QString &name)
{
    return consistsOf(name, false);
}

bool AgentName::isValidPattern(const QString &pattern)
{
    return consistsOf(pattern, true);
}

bool AgentName::matches(const QString &pattern, const QString &name)
{
    return globMatch(pattern, name);
}

bool AgentName::matchesAny(const QStringList &patterns, const QString &name)
{
    if (patterns.isEmpty())
        return true;
    for (const QString &pattern : patterns) {
        if (matches(pattern, name))
            return true;
    }
    return false;
}

} // namespace wstunnel
