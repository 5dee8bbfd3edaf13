#include "HostResolver.h"

#include <QHostInfo>
#include <QMetaObject>
#include <QPointer>

namespace wstunnel {

QHostAddress HostResolver::parseLiteral(const QString &host)
{
    QString text = host;
    if (text.startsWith(QLatin1Char('[')) && text.endsWith(QLatin1Char(']')))
        text = text.mid(1, text.size() - 2);
    QHostAddress address;
    if (!address.setAddress(text))
        return QHostAddress();
    return address;
}

void HostResolver::resolve(const QString &host, QObject *context, Callback done)
{
    const QHostAddress literal = parseLiteral(host);
    if (!literal.isNull()) {
        // Answer from the event loop like a real lookup, so callers see one behaviour.
        QMetaObject::invokeMethod(
            context, [done, literal] { done({literal}, QString()); }, Qt::QueuedConnection);
        return;
    }
    QHostInfo::lookupHost(host, context, [done, host](const QHostInfo &info) {
        if (info.error() != QHostInfo::NoError || info.addresses().isEmpty()) {
            done({}, QStringLiteral("cannot resolve %1: %2").arg(host, info.errorString()));
            return;
        }
        done(info.addresses(), QString());
    });
}

} // namespace wstunnel
