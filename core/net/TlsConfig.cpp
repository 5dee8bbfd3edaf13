#include "TlsConfig.h"

#include "client/ConnectionSettings.h"

#include <QCryptographicHash>
#include <QFile>
#include <QSslCertificate>
#include <QSslCipher>

#include <algorithm>

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

std::optional<QSslKey> parsePrivateKey(const QByteArray &pem)
{
    for (QSsl::KeyAlgorithm algorithm : {QSsl::Rsa, QSsl::Ec, QSsl::Dsa}) {
        QSslKey key(pem, algorithm, QSsl::Pem, QSsl::PrivateKey);
        if (!key.isNull())
            return key;
    }
    return std::nullopt;
}

// The client's files are reported by role rather than by a name of a command-line option.
TunnelError clientFileError(TunnelError::Kind kind, const QString &path, TunnelError::TlsFile role,
                            const QString &detail = QString())
{
    TunnelError error(kind, path, detail);
    error.tlsFile = role;
    return error;
}

std::optional<QByteArray> readClientFile(const QString &path, TunnelError::TlsFile role,
                                         TunnelError *error)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error =
            clientFileError(TunnelError::Kind::TlsFileUnreadable, path, role, file.errorString());
        return std::nullopt;
    }
    return file.readAll();
}

std::optional<QList<QSslCertificate>>
readClientCertificates(const QString &path, TunnelError::TlsFile role, TunnelError *error)
{
    const std::optional<QByteArray> data = readClientFile(path, role, error);
    if (!data)
        return std::nullopt;
    const QList<QSslCertificate> certificates = QSslCertificate::fromData(*data, QSsl::Pem);
    if (certificates.isEmpty()) {
        *error = clientFileError(TunnelError::Kind::TlsFileInvalid, path, role);
        return std::nullopt;
    }
    return certificates;
}

std::optional<QSslKey> readClientKey(const QString &path, TunnelError *error)
{
    const std::optional<QByteArray> data =
        readClientFile(path, TunnelError::TlsFile::ClientKey, error);
    if (!data)
        return std::nullopt;
    std::optional<QSslKey> key = parsePrivateKey(*data);
    if (!key)
        *error = clientFileError(TunnelError::Kind::TlsFileInvalid, path,
                                 TunnelError::TlsFile::ClientKey);
    return key;
}

// OpenSSL offers AES-256-GCM first. Where the CPU has AES instructions, AES-128-GCM does the same
// work with fewer rounds (about 8% faster here) at a strength no attack comes near; the client's
// order decides, as OpenSSL's server follows it. Without AES instructions ChaCha20 is faster than
// either, and OpenSSL's order is kept.
void preferAes128Gcm(QSslConfiguration &configuration)
{
#if defined(Q_PROCESSOR_X86)
    if (!__builtin_cpu_supports("aes"))
        return;
#endif
    QList<QSslCipher> ciphers = configuration.ciphers();
    // Only suites with forward secrecy move ahead; the rest keep their place behind them.
    std::stable_partition(ciphers.begin(), ciphers.end(), [](const QSslCipher &cipher) {
        const QString name = cipher.name();
        return name == QLatin1String("TLS_AES_128_GCM_SHA256") ||
               (name.startsWith(QLatin1String("ECDHE-")) &&
                name.contains(QLatin1String("-AES128-GCM-")));
    });
    configuration.setCiphers(ciphers);
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
    if (const std::optional<QSslKey> key = parsePrivateKey(*data))
        return key;
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
    preferAes128Gcm(configuration);
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

std::optional<QSslConfiguration> TlsConfig::client(const ConnectionSettings &settings,
                                                   TunnelError *error)
{
    QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
    configuration.setProtocol(QSsl::TlsV1_2OrLater);
    preferAes128Gcm(configuration);
    configuration.setPeerVerifyMode(QSslSocket::VerifyPeer);
    if (!settings.caFile.isEmpty()) {
        const auto cas =
            readClientCertificates(settings.caFile, TunnelError::TlsFile::CaFile, error);
        if (!cas)
            return std::nullopt;
        configuration.setCaCertificates(*cas);
    }
    if (settings.clientCertFile.isEmpty() != settings.clientKeyFile.isEmpty()) {
        *error = TunnelError(TunnelError::Kind::ClientCertificateIncomplete, QString());
        return std::nullopt;
    }
    if (!settings.clientCertFile.isEmpty()) {
        const auto chain = readClientCertificates(settings.clientCertFile,
                                                  TunnelError::TlsFile::ClientCertificate, error);
        if (!chain)
            return std::nullopt;
        const auto key = readClientKey(settings.clientKeyFile, error);
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

TunnelError::CertificateProblems TlsConfig::problemsOf(const QList<QSslError> &errors)
{
    TunnelError::CertificateProblems problems;
    for (const QSslError &error : errors) {
        switch (error.error()) {
        case QSslError::CertificateExpired:
            problems |= TunnelError::CertificateProblem::Expired;
            break;
        case QSslError::CertificateNotYetValid:
            problems |= TunnelError::CertificateProblem::NotYetValid;
            break;
        case QSslError::HostNameMismatch:
            problems |= TunnelError::CertificateProblem::HostNameMismatch;
            break;
        case QSslError::UnableToGetIssuerCertificate:
        case QSslError::UnableToGetLocalIssuerCertificate:
        case QSslError::UnableToVerifyFirstCertificate:
        case QSslError::SelfSignedCertificate:
        case QSslError::SelfSignedCertificateInChain:
        case QSslError::CertificateUntrusted:
            problems |= TunnelError::CertificateProblem::UntrustedIssuer;
            break;
        default:
            break;
        }
    }
    return problems;
}

} // namespace wstunnel
