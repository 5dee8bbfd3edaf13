#include "HubTokenFile.h"

#include "AgentName.h"
#include "server/TokenStore.h"

#include <QFile>
#include <QRegularExpression>

namespace wstunnel {

bool HubTokenFile::load(const QString &path, Identity::Kind kind, TokenStore *store, QString *error)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read token file %1: %2").arg(path, file.errorString());
        return false;
    }
    static const QRegularExpression whitespace(QStringLiteral("\\s+"));
    const bool agents = kind == Identity::Kind::Agent;
    const int before = store->size();
    const QList<QByteArray> lines = file.readAll().split('\n');
    for (qsizetype i = 0; i < lines.size(); ++i) {
        const QString line = QString::fromUtf8(lines.at(i)).trimmed();
        if (line.isEmpty() || line.startsWith(QLatin1Char('#')))
            continue;
        QStringList fields = line.split(whitespace);
        const QByteArray token = fields.takeFirst().toUtf8();
        // Messages name the line, never the token.
        const QString where = QStringLiteral("line %1 of %2").arg(i + 1).arg(path);
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
    if (store->size() == before) {
        *error = QStringLiteral("token file %1 holds no token").arg(path);
        return false;
    }
    return true;
}

} // namespace wstunnel
