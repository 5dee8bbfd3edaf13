#include "HubTokenFile.h"

#include "AgentName.h"
#include "server/TokenFile.h"
#include "server/TokenStore.h"

#include <QRegularExpression>

namespace wstunnel {

bool HubTokenFile::load(const QString &path, Identity::Kind kind, TokenStore *store, QString *error)
{
    const std::optional<QList<TokenFileLine>> lines = readTokenFile(path, error);
    if (!lines)
        return false;
    static const QRegularExpression whitespace(QStringLiteral("\\s+"));
    const bool agents = kind == Identity::Kind::Agent;
    for (const TokenFileLine &line : *lines) {
        QStringList fields = QString::fromUtf8(line.text).split(whitespace);
        const QByteArray token = fields.takeFirst().toUtf8();
        // Messages name the line, never the token.
        const QString where = QStringLiteral("line %1 of %2").arg(line.number).arg(path);
        if (agents && fields.size() != 1) {
            *error = QStringLiteral("%1: an agent token line is 'TOKEN NAME' (NAME may be '*')")
                         .arg(where);
            return false;
        }
        for (const QString &pattern : std::as_const(fields)) {
            if (!AgentName::isValidPattern(pattern)) {
                *error = QStringLiteral("%1: '%2' is not an agent name or pattern (letters, "
                                        "digits, '.', '_', '-' and '*', at most %3)")
                             .arg(where, pattern)
                             .arg(AgentName::kMaxLength);
                return false;
            }
        }
        if (store->accepts(token)) {
            *error = QStringLiteral("%1: this token is given twice; desktops and agents need "
                                    "tokens of their own")
                         .arg(where);
            return false;
        }
        store->add(token, Identity{QStringLiteral("token of %1").arg(where), kind, fields});
    }
    return true;
}

} // namespace wstunnel
