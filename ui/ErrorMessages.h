#pragma once

#include "TunnelError.h"

#include <QCoreApplication>
#include <QString>

namespace wstunnel {

// Core's errors in the desktop user's language, with advice that names the app's own dialogs
// and fields rather than command-line options. Worded as a clause, for "mapping: Error – …".
class ErrorMessages
{
    Q_DECLARE_TR_FUNCTIONS(wstunnel::ErrorMessages)

public:
    static QString describe(const TunnelError &error);

private:
    static QString certificateAdvice(TunnelError::CertificateProblems problems);
    static QString unreadableFile(const TunnelError &error);
    static QString invalidFile(const TunnelError &error);
};

} // namespace wstunnel
