#include "TokenFile.h"

#include <QFile>

namespace wstunnel {

std::optional<QList<TokenFileLine>> readTokenFile(const QString &path, QString *error)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read token file %1: %2").arg(path, file.errorString());
        return std::nullopt;
    }
    QList<TokenFileLine> result;
    const QList<QByteArray> lines = file.readAll().split('\n');
    for (qsizetype i = 0; i < lines.size(); ++i) {
        const QByteArray trimmed = lines.at(i).trimmed();
        if (!trimmed.isEmpty() && !trimmed.startsWith('#'))
            result.append(TokenFileLine{int(i + 1), trimmed});
    }
    if (result.isEmpty()) {
        *error = QStringLiteral("token file %1 holds no token").arg(path);
        return std::nullopt;
    }
    return result;
}

} // namespace wstunnel
