#include "link/WebSocketLink.h"

#include "WebSocketPair.h"

#include <QSignalSpy>
#include <QSslSocket>
#include <QTest>

using namespace wstunnel;

namespace {
constexpr qint64 kMiB = 1024 * 1024;
} // namespace

class WebSocketLinkTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    // The session stops reading its channels while the link's backlog is high. Over TLS, what
    // waits for the network sits in QSslSocket's plain socket, already encrypted: it must count,
    // and its leaving must wake the session, or a slow uplink lets every channel queue behind
    // megabytes of bulk data.
    void backlogCountsWhatTlsHasEncryptedButNotSent()
    {
        WebSocketPair pair;
        QVERIFY(pair.open(WebSocketPair::Security::Tls));
        QSslSocket *serverTls = pair.serverTlsTransport();
        QVERIFY(serverTls);
        auto *clientTransport = pair.client.findChild<QAbstractSocket *>();
        QVERIFY(clientTransport);

        // The peer stops reading, and small kernel buffers make the bytes pile up in user space.
        serverTls->setSocketOption(QAbstractSocket::SendBufferSizeSocketOption, 64 * 1024);
        clientTransport->setSocketOption(QAbstractSocket::ReceiveBufferSizeSocketOption, 64 * 1024);
        clientTransport->setReadBufferSize(64 * 1024);
        QObject::disconnect(clientTransport, &QIODevice::readyRead, nullptr, nullptr);

        WebSocketLink::Settings settings;
        settings.maxMessageSize = 16 * kMiB;
        WebSocketLink link(pair.server.release(), settings, nullptr, serverTls);
        const QByteArray message(512 * 1024, 'x');
        const int messages = 16;
        for (int i = 0; i < messages; ++i)
            link.send(message);

        // Once QSslSocket has encrypted everything, its own count is zero; the bytes still wait.
        QTRY_COMPARE(serverTls->bytesToWrite(), qint64(0));
        QVERIFY2(link.backlog() > 4 * kMiB, QByteArray::number(link.backlog()).constData());
        QCOMPARE(link.backlog(), serverTls->encryptedBytesToWrite());

        // The peer reads again: the backlog drains, and the link says so.
        QSignalSpy drained(&link, &Link::drained);
        qint64 received = 0;
        auto readAll = [&] { received += clientTransport->readAll().size(); };
        connect(clientTransport, &QIODevice::readyRead, this, readAll);
        readAll();
        QTRY_COMPARE_WITH_TIMEOUT(link.backlog(), qint64(0), 20000);
        QVERIFY(drained.size() > 0);
        QTRY_VERIFY(received >= messages * message.size());
    }
};

QTEST_MAIN(WebSocketLinkTest)
#include "tst_websocketlink.moc"
