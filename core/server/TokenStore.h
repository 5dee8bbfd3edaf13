#pragma once

#include "Identity.h"

#include <QByteArray>
#include <QList>
#include <QString>

#include <optional>

namespace wstunnel {

// The bearer tokens a server accepts, each with the identity it proves. Only their SHA-256 digests
// are kept, and a presented token is compared against every one of them in constant time.
class TokenStore
{
public:
    // name says where the token came from, for logs (Identity::name).
    void add(const QByteArray &token, const QString &name = QStringLiteral("token"),
             Identity::Kind kind = Identity::Kind::Desktop);
    void add(const QByteArray &token, const Identity &identity);
    // One token per line; blank lines and lines starting with '#' are ignored.
    bool loadFile(const QString &path, QString *error);
    bool isEmpty() const { return m_entries.isEmpty(); }
    int size() const { return int(m_entries.size()); }
    // The identity a presented token proves, or nullopt for an unknown token.
    std::optional<Identity> identify(const QByteArray &presented) const;
    bool accepts(const QByteArray &presented) const { return identify(presented).has_value(); }

    // The token of an "Authorization: Bearer TOKEN" header value, or an empty array.
    static QByteArray bearerToken(const QByteArray &authorizationHeader);

private:
    struct Entry
    {
        QByteArray digest;
        Identity identity;
    };
    QList<Entry> m_entries;
};

} // namespace wstunnel
