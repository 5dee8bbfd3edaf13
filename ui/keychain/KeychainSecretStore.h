#pragma once

#include "engine/FileSecretStore.h"

#include <QCoreApplication>

namespace wstunnel {

// Keeps tokens in the OS keychain (Secret Service, KWallet) through QtKeychain. Where no
// keychain service answers, it says so once and keeps them in a FileSecretStore from then on; a
// token is also looked up there after a keychain miss, since it may date from a session without
// keychain. Only the desktop build links this, as QtKeychain brings D-Bus along.
class KeychainSecretStore final : public SecretStore
{
    Q_DECLARE_TR_FUNCTIONS(wstunnel::KeychainSecretStore)

public:
    explicit KeychainSecretStore(
        const QString &fallbackFilePath = FileSecretStore::defaultFilePath());

    std::optional<QByteArray> read(const QString &key, QString *error) override;
    bool write(const QString &key, const QByteArray &secret, QString *error) override;
    bool remove(const QString &key, QString *error) override;

private:
    enum class KeychainResult { Done, NotFound, Unavailable, Failed };

    KeychainResult keychainRead(const QString &key, QByteArray *secret, QString *error);
    KeychainResult keychainWrite(const QString &key, const QByteArray &secret, QString *error);
    KeychainResult keychainRemove(const QString &key, QString *error);
    void fallBackToFile(const QString &reason);

    FileSecretStore m_file;
    bool m_keychainAvailable = true;
};

} // namespace wstunnel
