#pragma once

#include "SecretStore.h"

#include <QCoreApplication>

namespace wstunnel {

// Keeps tokens in a JSON file that only the user may read (0600, in a 0700 folder): the store
// of builds without a keychain, and the keychain's fallback where no keychain service answers.
class FileSecretStore final : public SecretStore
{
    Q_DECLARE_TR_FUNCTIONS(wstunnel::FileSecretStore)

public:
    explicit FileSecretStore(const QString &filePath = defaultFilePath());

    static QString defaultFilePath();
    QString filePath() const { return m_filePath; }

    std::optional<QByteArray> read(const QString &key, QString *error) override;
    bool write(const QString &key, const QByteArray &secret, QString *error) override;
    bool remove(const QString &key, QString *error) override;

private:
    // Stores secret under key, or removes the key when secret is nullopt.
    bool update(const QString &key, const std::optional<QByteArray> &secret, QString *error) const;

    QString m_filePath;
};

} // namespace wstunnel
