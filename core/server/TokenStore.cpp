#include "TokenStore.h"

#include "TokenFile.h"

#include <QCryptographicHash>

namespace wstunnel {

namespace {

QByteArray digest(const QByteArray &token)
{
    return QCryptographicHash::hash(token, QCryptographicHash::Sha256);
}

} // namespace

void TokenStore::add(const QByteArray &token, const QString &name, Identity::Kind kind)
{
    add(token, Identity{name, kind, {}});
}

void TokenStore::add(const QByteArray &token, const Identity &identity)
{
    const QByteArray trimmed = token.trimmed();
    if (!trimmed.isEmpty())
        m_entries.append(Entry{digest(trimmed), identity});
}

bool TokenStore::loadFile(const QString &path, QString *error)
{
    const std::optional<QList<TokenFileLine>> lines = readTokenFile(path, error);
    if (!lines)
        return false;
    for (const TokenFileLine &line : *lines)
        add(line.text, QStringLiteral("token of line %1 of %2").arg(line.number).arg(path));
    return true;
}

std::optional<Identity> TokenStore::identify(const QByteArray &presented) const
{
    // Digests have a fixed length, and every entry is compared, so the time taken leaks neither
    // the tokens, nor their lengths, nor which one matched.
    const QByteArray candidate = digest(presented);
    const Entry *match = nullptr;
    for (const Entry &entry : m_entries) {
        unsigned char difference = 0;
        for (qsizetype i = 0; i < entry.digest.size(); ++i)
            difference |= static_cast<unsigned char>(entry.digest[i] ^ candidate[i]);
        if (difference == 0 && !match)
            match = &entry;
    }
    if (!match || presented.isEmpty())
        return std::nullopt;
    return match->identity;
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
