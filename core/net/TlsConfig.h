#pragma once

#include "TlsSettings.h"
#include "TunnelError.h"

#include <QList>
#include <QSslConfiguration>
#include <QSslError>
#include <QSslKey>
#include <QString>

#include <optional>

namespace wstunnel {

struct ConnectionSettings;

// Builds the TLS configurations of both ends from PEM files, with errors that name the file, and
// the fingerprints users compare and pin.
class TlsConfig
{
public:
    static std::optional<QList<QSslCertificate>>
    loadCertificates(const QString &path, const QString &what, QString *error);
    static std::optional<QSslKey> loadPrivateKey(const QString &path, const QString &what,
                                                 QString *error);

    static std::optional<QSslConfiguration> server(const TlsSettings &settings, QString *error);
    // The client's configuration; a file that cannot be used is reported by its role, for the
    // command line to name its option and the desktop app its field.
    static std::optional<QSslConfiguration> client(const ConnectionSettings &settings,
                                                   TunnelError *error);

    // SHA-256 of the whole certificate, upper-case hex with colons (as `openssl x509
    // -fingerprint`).
    static QString fingerprint(const QSslCertificate &certificate);
    // Base64 SHA-256 of the SubjectPublicKeyInfo, the form of --pin-sha256 (as curl's pins).
    static QByteArray publicKeyPin(const QSslCertificate &certificate);
    // True when text (hex, colons and case ignored) is the certificate's SHA-256 fingerprint.
    static bool matchesFingerprint(const QSslCertificate &certificate, const QByteArray &text);
    // The distinct problems in errors, for one line of text.
    static QString describe(const QList<QSslError> &errors);
    // What the user could do something about in these verification errors.
    static TunnelError::CertificateProblems problemsOf(const QList<QSslError> &errors);
};

} // namespace wstunnel
