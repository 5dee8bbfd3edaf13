#include "TlsConfig.h"

#include "client/ClientSettings.h"

#include <QCryptographicHash>
#include <QFile>
#include <QSslCertificate>

namespace wstunnel {

namespace {

std::optional<QByteArray> readFile(const QString &path, const QString &what, QString *error)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read %1 %2: %3").arg(what, path, file.errorString());
        return std::nullopt;
    }
    return file.readAll();
}

} // namespace

std::optional<QList<QSslCertificate>>
TlsConfig::loadCertificates(const QString &path, const QString &what, QString *error)
{
    const std::optional<QByteArray> data = readFile(path, what, error);
    if (!data)
        return std::nullopt;
    const QList<QSslCertificate> certificates = QSslCertificate::fromData(*data, QSsl::Pem);
    if (certificates.isEmpty()) {
        *error = QStringLiteral("%1 %2 holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
                     .arg(what, path);
        return std::nullopt;
    }
    return certificates;
}

std::optional<QSslKey> TlsConfig::loadPrivateKey(const QString &path, const QString &what,
                                                 QString *error)
{
    const std::optional<QByteArray> data = readFile(path, what, error);
    if (!data)
        return std::nullopt;
    for (QSsl::KeyAlgorithm algorithm : {QSsl::Rsa, QSsl::Ec, QSsl::Dsa}) {
        QSslKey key(*data, algorithm, QSsl::Pem, QSsl::PrivateKey);
        if (!key.isNull())
            return key;
    }
    *error = QStringLiteral("%1 %2 holds no unencrypted PEM private key (RSA, EC or DSA)")
                 .arg(what, path);
    return std::nullopt;
}

std::optional<QSslConfiguration> TlsConfig::server(const TlsSettings &settings, QString *error)
{
    const auto chain = loadCertificates(settings.certFile, QStringLiteral("--tls-cert"), error);
    if (!chain)
        return std::nullopt;
    const auto key = loadPrivateKey(settings.keyFile, QStringLiteral("--tls-key"), error);
    if (!key)
        return std::nullopt;
    if (chain->first().publicKey().algorithm() != key->algorithm()) {
        *error = QStringLiteral("--tls-key %1 is not the key of the certificate in --tls-cert %2 "
                                "(different key types)")
                     .arg(settings.keyFile, settings.certFile);
        return std::nullopt;
    }
    QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
    configuration.setProtocol(QSsl::TlsV1_2OrLater);
    configuration.setLocalCertificateChain(*chain);
    configuration.setPrivateKey(*key);
    if (settings.clientCaFile.isEmpty()) {
        configuration.setPeerVerifyMode(QSslSocket::VerifyNone);
        return configuration;
    }
    const auto clientCas =
        loadCertificates(settings.clientCaFile, QStringLiteral("--client-ca"), error);
    if (!clientCas)
        return std::nullopt;
    configuration.setCaCertificates(*clientCas);
    configuration.setPeerVerifyMode(QSslSocket::VerifyPeer);
    // Both make OpenSSL end the handshake with an alert, so the client learns why it was refused
    // instead of seeing the connection drop after the handshake.
    configuration.setMissingCertificateIsFatal(true);
    configuration.setHandshakeMustInterruptOnError(true);
    return configuration;
}

std::optional<QSslConfiguration> TlsConfig::client(const ClientSettings &settings, QString *error)
{
    QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
    configuration.setProtocol(QSsl::TlsV1_2OrLater);
    configuration.setPeerVerifyMode(QSslSocket::VerifyPeer);
    if (!settings.caFile.isEmpty()) {
        const auto cas = loadCertificates(settings.caFile, QStringLiteral("--ca-file"), error);
        if (!cas)
            return std::nullopt;
        configuration.setCaCertificates(*cas);
    }
    if (settings.clientCertFile.isEmpty() != settings.clientKeyFile.isEmpty()) {
        *error = QStringLiteral("a client certificate needs both --client-cert and --client-key");
        return std::nullopt;
    }
    if (!settings.clientCertFile.isEmpty()) {
        const auto chain =
            loadCertificates(settings.clientCertFile, QStringLiteral("--client-cert"), error);
        if (!chain)
            return std::nullopt;
        const auto key =
            loadPrivateKey(settings.clientKeyFile, QStringLiteral("--client-key"), error);
        if (!key)
            return std::nullopt;
        configuration.setLocalCertificateChain(*chain);
        configuration.setPrivateKey(*key);
    }
    return configuration;
}

QString TlsConfig::fingerprint(const QSslCertificate &certificate)
{
    return QString::fromLatin1(certificate.digest(QCryptographicHash::Sha256).toHex(':').toUpper());
}

QByteArray TlsConfig::publicKeyPin(const QSslCertificate &certificate)
{
    return QCryptographicHash::hash(certificate.publicKey().toDer(), QCryptographicHash::Sha256)
        .toBase64();
}

bool TlsConfig::matchesFingerprint(const QSslCertificate &certificate, const QByteArray &text)
{
    QByteArray hex = text.trimmed().toLower();
    hex.replace(':', QByteArray());
    return !hex.isEmpty() && hex == certificate.digest(QCryptographicHash::Sha256).toHex();
}

QString TlsConfig::describe(const QList<QSslError> &errors)
{
    QStringList problems;
    for (const QSslError &error : errors) {
        if (!problems.contains(error.errorString()))
            problems.append(error.errorString());
    }
    return problems.join(QStringLiteral("; "));
}

QString TlsConfig::advice(const QList<QSslError> &errors)
{
    QStringList advice;
    const auto add = [&advice](const QString &text) {
        if (!advice.contains(text))
            advice.append(text);
    };
    for (const QSslError &error : errors) {
        switch (error.error()) {
        case QSslError::CertificateExpired:
            add(QStringLiteral("the server's certificate must be renewed, or this computer's "
                               "clock is wrong"));
            break;
        case QSslError::CertificateNotYetValid:
            add(QStringLiteral("check this computer's clock"));
            break;
        case QSslError::HostNameMismatch:
            add(QStringLiteral("use a host name the certificate lists in the URL"));
            break;
        case QSslError::UnableToGetIssuerCertificate:
        case QSslError::UnableToGetLocalIssuerCertificate:
        case QSslError::UnableToVerifyFirstCertificate:
        case QSslError::SelfSignedCertificate:
        case QSslError::SelfSignedCertificateInChain:
        case QSslError::CertificateUntrusted:
            add(QStringLiteral("give the CA that issued it with --ca-file"));
            break;
        default:
            break;
        }
    }
    advice.append(QStringLiteral("or trust this certificate explicitly"));
    return advice.join(QStringLiteral(", "));
}

} // namespace wstunnel
