#include "TokenStore.h"

#include <QCryptographicHash>
#include <QFile>

namespace wstunnel {

namespace {

QByteArray digest(const QByteArray &token)
{
    return QCryptographicHash::hash(token, QCryptographicHash::Sha256);
}

} // namespace

void TokenStore::add(const QByteArray &token)
{
    const QByteArray trimmed = token.trimmed();
    if (!trimmed.isEmpty())
        m_digests.append(digest(trimmed));
}

bool TokenStore::loadFile(const QString &path, QString *error)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read token file %1: %2").arg(path, file.errorString());
        return false;
    }
    const int before = size();
    const QList<QByteArray> lines = file.readAll().split('\n');
    for (const QByteArray &line : lines) {
        const QByteArray trimmed = line.trimmed();
        if (!trimmed.isEmpty() && !trimmed.startsWith('#'))
            add(trimmed);
    }
    if (size() == before) {
        *error = QStringLiteral("token file %1 holds no token").arg(path);
        return false;
    }
    return true;
}

bool TokenStore::accepts(const QByteArray &presented) const
{
    // Digests have a fixed length, so comparing them leaks neither the tokens nor their lengths.
    const QByteArray candidate = digest(presented);
    bool found = false;
    for (const QByteArray &known : m_digests) {
        unsigned char difference = 0;
        for (qsizetype i = 0; i < known.size(); ++i)
            difference |= static_cast<unsigned char>(known[i] ^ candidate[i]);
        found |= (difference == 0);
    }
    return found && !presented.isEmpty();
}

QByteArray TokenStore::bearerToken(const QByteArray &authorizationHeader)
{
    const QByteArray value = authorizationHeader.trimmed();
    const QByteArray scheme = "bearer ";
    if (value.size() <= scheme.size() || value.left(scheme.size()).toLower() != scheme)
        return QByteArray();
    return value.mid(scheme.size()).trimmed();
}

} // namespace wstunnel
