#include "CuttableRelay.h"
#include "EchoServer.h"
#include "GuiTestEnvironment.h"
#include "UdpEchoServer.h"
#include "agent/AgentConnection.h"
#include "engine/FileSecretStore.h"
#include "engine/ProfileStore.h"
#include "hub/HubServer.h"
#include "server/AllowList.h"
#include "server/TokenStore.h"
#include "server/TunnelServer.h"
#include "session/TunnelSession.h"
#include "ui/AppController.h"
#include "ui/Autostart.h"
#include "ui/ChannelTableModel.h"
#include "ui/Formatting.h"
#include "ui/MainWindow.h"
#include "ui/MappingDialog.h"
#include "ui/MappingTableModel.h"
#include "ui/RemoteDialog.h"
#include "ui/TrayController.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QCryptographicHash>
#include <QDialogButtonBox>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProcess>
#include <QPushButton>
#include <QRegularExpression>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QSslCertificate>
#include <QStandardItemModel>
#include <QTableView>
#include <QTcpSocket>
#include <QTest>
#include <QToolButton>
#include <QTranslator>
#include <QTreeWidget>
#include <QUdpSocket>

#include <memory>
#include <vector>

using namespace wstunnel;

// Drives the real main window, dialogs and tray menu offscreen, with the built-in remote
// carrying the traffic to an echo server on loopback.
class TestMainWindow : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { isolateGuiTest(); }
    void init();
    void cleanup();

    void firstRunOffersBuiltInRemote();
    void mappingAddedInEditorCarriesData();
    void udpMappingAddedInEditorCarriesDatagrams();
    void dynamicMappingAddedInEditorIsASocksServer();
    void togglingMappingClosesAndReopensPort();
    void trayActionsStartAndStop();
    void editorRejectsInvalidInput();
    void editorSuggestsFreePortWhenBusy();
    void duplicateDeleteAndReorder();
    void editingOneMappingLeavesOthersRunning();
    void reverseMappingAddedInEditorCarriesData();
    void togglingReverseMappingClosesAndReopensRemotePort();
    void editingReverseMappingLeavesOthersRunning();
    void reverseMappingOnBusyRemotePortShowsErrorWhileLocalWorks();
    void reverseMappingFollowsItsRemoteThroughReconnect();
    void editorValidatesReverseMappings();
    void remoteEditorStoresSettingsAndTokenApart();
    void mappingThroughHubReachesItsAgent();
    void remoteEditorListsTheAgentsTheHubReports();
    void rejectedCertificateIsTrustedOnlyWhenConfirmed();
    void profileRoundTripsThroughSaveLoadImportExport();
    void invalidImportChangesNothing();
    void unreadableProfileIsNeverOverwritten();
    void followsGermanLocale();
    void refusedTokenIsWordedInGerman();
    void startAtLoginWritesAutostartEntry();
    void droppedWebSocketShowsReconnectingAndKeepsMappings();
    void resumeHandshakeInFlightStillShowsReconnecting();

private:
    // A remote reached through a relay the test can cut, an echo mapping through it, and two
    // connections open: one that will talk again, one idle.
    struct HeldConnections
    {
        TokenStore tokens;
        AllowList allowList;
        std::unique_ptr<TunnelServer> server;
        std::unique_ptr<CuttableRelay> relay;
        RemoteConfig remote;
        MappingConfig mapping;
        QTcpSocket client;
        QTcpSocket idle;
    };
    void openHeldConnections(HeldConnections &scene, const QString &remoteName);
    RemoteStats remoteStats(const QString &remoteId) const;
    // The remote's entry in the remote list shows "Reconnecting (2 connections held)".
    void checkRemoteListShowsTwoHeld(const RemoteConfig &remote);
    void createWindow();
    MappingDialog *openAddDialog();
    MappingConfig echoMapping(quint16 port) const;
    MappingConfig reverseEchoMapping(quint16 remotePort) const;
    MappingStats statsOf(const QString &mappingId) const;
    // The remote port the status bar names for the selected reverse mapping, 0 while none.
    quint16 remotePortInStatus() const;
    MappingState stateOf(const QString &mappingId) const;
    static QPushButton *okButton(QDialog *dialog);

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<FileSecretStore> m_secrets;
    std::unique_ptr<AppController> m_controller;
    std::unique_ptr<TrayController> m_tray;
    std::unique_ptr<MainWindow> m_window;
    std::unique_ptr<EchoServer> m_echo;
};

void TestMainWindow::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    m_echo = std::make_unique<EchoServer>();
    QVERIFY(m_echo->isListening());
    createWindow();
}

void TestMainWindow::createWindow()
{
    m_window.reset();
    m_tray.reset();
    m_controller.reset();
    m_secrets = std::make_unique<FileSecretStore>(m_dir->filePath(QStringLiteral("tokens.json")));
    m_controller = std::make_unique<AppController>(m_dir->filePath(QStringLiteral("profile.json")),
                                                   m_secrets.get());
    m_tray = std::make_unique<TrayController>(m_controller.get());
    m_window = std::make_unique<MainWindow>(m_controller.get(), m_tray.get());
    m_controller->load();
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
}

void TestMainWindow::cleanup()
{
    m_window.reset();
    m_tray.reset();
    m_controller.reset();
    m_secrets.reset();
    m_echo.reset();
    m_dir.reset();
}

MappingDialog *TestMainWindow::openAddDialog()
{
    m_window->addMapping();
    auto *dialog = m_window->findChild<MappingDialog *>();
    return dialog && QTest::qWaitForWindowExposed(dialog) ? dialog : nullptr;
}

QPushButton *TestMainWindow::okButton(QDialog *dialog)
{
    return dialog->findChild<QDialogButtonBox *>()->button(QDialogButtonBox::Ok);
}

MappingConfig TestMainWindow::echoMapping(quint16 port) const
{
    MappingConfig mapping;
    mapping.id = Profile::newId();
    mapping.name = QStringLiteral("Echo %1").arg(port);
    mapping.remoteId = m_controller->profile().remotes.first().id;
    mapping.bindPort = port;
    mapping.targetHost = QStringLiteral("127.0.0.1");
    mapping.targetPort = m_echo->serverPort();
    return mapping;
}

MappingConfig TestMainWindow::reverseEchoMapping(quint16 remotePort) const
{
    MappingConfig mapping = echoMapping(remotePort);
    mapping.name = QStringLiteral("Reverse echo %1").arg(remotePort);
    mapping.direction = ForwardSpec::Direction::Reverse;
    return mapping;
}

MappingStats TestMainWindow::statsOf(const QString &mappingId) const
{
    const EngineSnapshot snapshot = m_controller->snapshot();
    const MappingStats *stats = snapshot.mapping(mappingId);
    return stats ? *stats : MappingStats();
}

quint16 TestMainWindow::remotePortInStatus() const
{
    static const QRegularExpression pattern(
        QStringLiteral("listening on the remote at 127\\.0\\.0\\.1:(\\d+)$"));
    const auto *status = m_window->findChild<QLabel *>(QStringLiteral("statusLabel"));
    const QRegularExpressionMatch match = pattern.match(status->text());
    return match.hasMatch() ? quint16(match.captured(1).toUInt()) : 0;
}

MappingState TestMainWindow::stateOf(const QString &mappingId) const
{
    const EngineSnapshot snapshot = m_controller->snapshot();
    const MappingStats *stats = snapshot.mapping(mappingId);
    return stats ? stats->state : MappingState::Off;
}

void TestMainWindow::firstRunOffersBuiltInRemote()
{
    QCOMPARE(m_window->windowTitle(), QStringLiteral("WSTunnel"));
    QCOMPARE(m_controller->profile().remotes.size(), 1);
    QVERIFY(m_controller->profile().remotes.first().builtIn);
    QVERIFY(QFile::exists(m_controller->profilePath()));
    auto *remotes = m_window->findChild<QWidget *>(QStringLiteral("remoteList"));
    QVERIFY(remotes);
    QCOMPARE(remotes->accessibleName(), QStringLiteral("Remotes"));
    auto *hint = m_window->findChild<QLabel *>(QStringLiteral("emptyHint"));
    QVERIFY(hint && hint->isVisible());
    m_controller->setMapping(echoMapping(unusedLoopbackPort()));
    QVERIFY(!hint->isVisible());
}

void TestMainWindow::mappingAddedInEditorCarriesData()
{
    const quint16 port = unusedLoopbackPort();
    MappingDialog *dialog = openAddDialog();
    QVERIFY(dialog);
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("nameEdit")),
                     QStringLiteral("Echo"));
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("listenEdit")),
                     QString::number(port));
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("targetEdit")),
                     QStringLiteral("127.0.0.1:%1").arg(m_echo->serverPort()));
    QVERIFY2(dialog->isValid(), qPrintable(dialog->problem()));
    QTest::mouseClick(okButton(dialog), Qt::LeftButton);

    QCOMPARE(m_controller->profile().mappings.size(), 1);
    const MappingConfig mapping = m_controller->profile().mappings.first();
    QCOMPARE(mapping.bindPort, port);
    QCOMPARE(m_window->selectedMappingId(), mapping.id);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(mapping.id), MappingState::Listening, 10000);

    auto *table = m_window->findChild<QTableView *>(QStringLiteral("mappingView"));
    const QModelIndex stateCell = table->model()->index(0, MappingTableModel::StateColumn);
    QTRY_COMPARE(stateCell.data().toString(), QStringLiteral("Listening"));

    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(client.waitForConnected(5000));
    const QByteArray payload = QByteArray("hello through the built-in remote ").repeated(1000);
    QCOMPARE(echoThrough(client, payload), payload);

    // The connection shows up in the connections view and can be closed from there.
    auto *channels = m_window->findChild<QTableView *>(QStringLiteral("channelView"));
    QTRY_COMPARE(channels->model()->rowCount(), 1);
    QTRY_COMPARE(table->model()->index(0, MappingTableModel::ConnectionsColumn).data().toString(),
                 QStringLiteral("1"));
    QTRY_COMPARE(stateOf(mapping.id), MappingState::Active);
    QVERIFY(channels->model()
                ->index(0, ChannelTableModel::ClientColumn)
                .data()
                .toString()
                .contains(QString::number(client.localPort())));
    channels->selectRow(0);
    auto *closeButton = m_window->findChild<QPushButton *>(QStringLiteral("closeChannelButton"));
    QVERIFY(closeButton->isEnabled());
    QTest::mouseClick(closeButton, Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), QAbstractSocket::UnconnectedState, 5000);
    QTRY_COMPARE(channels->model()->rowCount(), 0);
}

void TestMainWindow::dynamicMappingAddedInEditorIsASocksServer()
{
    const quint16 port = unusedLoopbackPort();
    MappingDialog *dialog = openAddDialog();
    QVERIFY(dialog);
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("nameEdit")),
                     QStringLiteral("SOCKS"));
    auto *direction = dialog->findChild<QComboBox *>(QStringLiteral("directionCombo"));
    QTest::keyClick(direction, Qt::Key_Down);
    QTest::keyClick(direction, Qt::Key_Down);
    QCOMPARE(direction->currentIndex(), 2);
    // The client names the target, over TCP.
    QVERIFY(!dialog->findChild<QLineEdit *>(QStringLiteral("targetEdit"))->isEnabled());
    QVERIFY(!dialog->findChild<QComboBox *>(QStringLiteral("protocolCombo"))->isEnabled());
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("listenEdit")),
                     QString::number(port));
    QVERIFY2(dialog->isValid(), qPrintable(dialog->problem()));
    QTest::mouseClick(okButton(dialog), Qt::LeftButton);

    QCOMPARE(m_controller->profile().mappings.size(), 1);
    const MappingConfig mapping = m_controller->profile().mappings.first();
    QCOMPARE(mapping.direction, ForwardSpec::Direction::Dynamic);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(mapping.id), MappingState::Listening, 10000);
    auto *table = m_window->findChild<QTableView *>(QStringLiteral("mappingView"));
    QCOMPARE(table->model()->index(0, MappingTableModel::DirectionColumn).data().toString(),
             QStringLiteral("Dynamic (SOCKS)"));
    QCOMPARE(table->model()->index(0, MappingTableModel::TargetColumn).data().toString(),
             QStringLiteral("SOCKS"));

    // SOCKS5 without authentication, CONNECT to the echo server by name.
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(client.waitForConnected(5000));
    client.write(QByteArray("\x05\x01\x00", 3));
    QByteArray request("\x05\x01\x00\x03", 4);
    request.append(char(9)).append("localhost");
    request.append(char(m_echo->serverPort() >> 8)).append(char(m_echo->serverPort() & 0xFF));
    client.write(request);
    QTRY_VERIFY_WITH_TIMEOUT(client.bytesAvailable() >= 12, 10000);
    QCOMPARE(client.read(2), QByteArray("\x05\x00", 2));
    QCOMPARE(client.read(10).left(2), QByteArray("\x05\x00", 2));
    QCOMPARE(echoThrough(client, "through SOCKS"), QByteArray("through SOCKS"));
}

namespace {

// Sends each datagram through a UDP socket and collects as many replies, or what came within ten
// seconds, with the event loop running meanwhile.
QList<QByteArray> exchangeDatagrams(QUdpSocket &client, quint16 port,
                                    const QList<QByteArray> &datagrams)
{
    for (const QByteArray &datagram : datagrams)
        client.writeDatagram(datagram, QHostAddress::LocalHost, port);
    QList<QByteArray> replies;
    [[maybe_unused]] const bool complete = QTest::qWaitFor(
        [&] {
            while (client.hasPendingDatagrams()) {
                QByteArray reply(qMax<qint64>(client.pendingDatagramSize(), 0), Qt::Uninitialized);
                client.readDatagram(reply.data(), reply.size());
                replies.append(reply);
            }
            return replies.size() >= datagrams.size();
        },
        10000);
    return replies;
}

bool udpPortFree(quint16 port)
{
    QUdpSocket probe;
    return probe.bind(QHostAddress::LocalHost, port);
}

} // namespace

void TestMainWindow::udpMappingAddedInEditorCarriesDatagrams()
{
    UdpEchoServer echo;
    QVERIFY(echo.port() != 0);
    const quint16 port = unusedLoopbackPort();
    QVERIFY(udpPortFree(port));
    MappingDialog *dialog = openAddDialog();
    QVERIFY(dialog);
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("nameEdit")),
                     QStringLiteral("DNS"));
    auto *protocol = dialog->findChild<QComboBox *>(QStringLiteral("protocolCombo"));
    QTest::keyClick(protocol, Qt::Key_Down);
    QCOMPARE(protocol->currentText(), QStringLiteral("UDP"));
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("listenEdit")),
                     QString::number(port));
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("targetEdit")),
                     QStringLiteral("127.0.0.1:%1").arg(echo.port()));
    QVERIFY2(dialog->isValid(), qPrintable(dialog->problem()));
    QTest::mouseClick(okButton(dialog), Qt::LeftButton);

    QCOMPARE(m_controller->profile().mappings.size(), 1);
    const MappingConfig mapping = m_controller->profile().mappings.first();
    QCOMPARE(mapping.protocol, MappingConfig::Protocol::Udp);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(mapping.id), MappingState::Listening, 10000);
    QVERIFY(!udpPortFree(port));
    // A UDP mapping holds no TCP port.
    QVERIFY(loopbackPortFree(port));
    auto *table = m_window->findChild<QTableView *>(QStringLiteral("mappingView"));
    QCOMPARE(table->model()->index(0, MappingTableModel::ProtocolColumn).data().toString(),
             QStringLiteral("UDP"));

    // Datagrams keep their boundaries both ways.
    QUdpSocket client;
    QVERIFY(client.bind(QHostAddress::LocalHost, 0));
    const QList<QByteArray> datagrams = {QByteArray("a"), QByteArray(512, 'b'),
                                         QByteArray(1472, 'c')};
    QCOMPARE(exchangeDatagrams(client, port, datagrams), datagrams);
    QCOMPARE(echo.datagramsReceived(), 3);

    // The flow shows in the connections view with its datagrams each way and no drops.
    auto *channels = m_window->findChild<QTableView *>(QStringLiteral("channelView"));
    QTRY_COMPARE(channels->model()->rowCount(), 1);
    QTRY_COMPARE(stateOf(mapping.id), MappingState::Active);
    QCOMPARE(channels->model()->index(0, ChannelTableModel::ClientColumn).data().toString(),
             QStringLiteral("127.0.0.1:%1").arg(client.localPort()));
    QCOMPARE(channels->model()->index(0, ChannelTableModel::TargetColumn).data().toString(),
             QStringLiteral("127.0.0.1:%1/udp").arg(echo.port()));
    QTRY_COMPARE(channels->model()->index(0, ChannelTableModel::DatagramsColumn).data().toString(),
                 QStringLiteral("3 in, 3 out"));
    const QString size = Formatting::bytes(1 + 512 + 1472);
    QTRY_COMPARE(channels->model()->index(0, ChannelTableModel::BytesInColumn).data().toString(),
                 size);
    QCOMPARE(channels->model()->index(0, ChannelTableModel::BytesOutColumn).data().toString(),
             size);
    QCOMPARE(channels->model()->index(0, ChannelTableModel::DroppedColumn).data().toString(),
             QStringLiteral("0 in, 0 out"));
    QVERIFY(!channels->isColumnHidden(ChannelTableModel::DatagramsColumn));
    QVERIFY(!channels->isColumnHidden(ChannelTableModel::DroppedColumn));
    auto *title = m_window->findChild<QLabel *>(QStringLiteral("connectionsTitle"));
    QVERIFY(title);
    QTRY_COMPARE(title->text(), QStringLiteral("<b>Flows of DNS</b> (1, 0 datagrams dropped)"));

    // A second source is a flow of its own and gets only its own replies.
    QUdpSocket other;
    QVERIFY(other.bind(QHostAddress::LocalHost, 0));
    QCOMPARE(exchangeDatagrams(other, port, {QByteArray("other")}),
             QList<QByteArray>{QByteArray("other")});
    QTRY_COMPARE(channels->model()->rowCount(), 2);
    QVERIFY(!client.hasPendingDatagrams());

    // Switched off, the port is free; switched on, datagrams pass again.
    m_window->selectMapping(mapping.id);
    auto *toggle = m_window->findChild<QAction *>(QStringLiteral("toggleMappingAction"));
    QVERIFY(toggle && toggle->isEnabled());
    toggle->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(udpPortFree(port), 5000);
    QTRY_COMPARE(stateOf(mapping.id), MappingState::Off);
    toggle->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(mapping.id), MappingState::Listening, 10000);
    QCOMPARE(exchangeDatagrams(client, port, {QByteArray("again")}),
             QList<QByteArray>{QByteArray("again")});

    // Edited into a TCP mapping, the connections view drops the datagram columns.
    m_window->editMapping();
    dialog = m_window->findChild<MappingDialog *>();
    QVERIFY(dialog);
    QVERIFY(QTest::qWaitForWindowExposed(dialog));
    protocol = dialog->findChild<QComboBox *>(QStringLiteral("protocolCombo"));
    QCOMPARE(protocol->currentText(), QStringLiteral("UDP"));
    QTest::keyClick(protocol, Qt::Key_Up);
    QVERIFY2(dialog->isValid(), qPrintable(dialog->problem()));
    QTest::mouseClick(okButton(dialog), Qt::LeftButton);
    QCOMPARE(m_controller->profile().mappings.first().protocol, MappingConfig::Protocol::Tcp);
    QTRY_VERIFY_WITH_TIMEOUT(udpPortFree(port) && !loopbackPortFree(port), 5000);
    QTRY_VERIFY(channels->isColumnHidden(ChannelTableModel::DatagramsColumn));
    QVERIFY(channels->isColumnHidden(ChannelTableModel::DroppedColumn));
}

void TestMainWindow::togglingMappingClosesAndReopensPort()
{
    const quint16 port = unusedLoopbackPort();
    const MappingConfig mapping = echoMapping(port);
    m_controller->setMapping(mapping);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(mapping.id), MappingState::Listening, 10000);
    QVERIFY(!loopbackPortFree(port));

    m_window->selectMapping(mapping.id);
    auto *table = m_window->findChild<QTableView *>(QStringLiteral("mappingView"));
    table->setFocus();
    QTest::keyClick(table, Qt::Key_Space);
    QVERIFY(!m_controller->profile().mappings.first().enabled);
    QTRY_VERIFY_WITH_TIMEOUT(loopbackPortFree(port), 5000);
    QTRY_COMPARE(table->model()->index(0, MappingTableModel::StateColumn).data().toString(),
                 QStringLiteral("Off"));
    QTRY_COMPARE(stateOf(mapping.id), MappingState::Off);

    QTest::keyClick(table, Qt::Key_Space);
    QVERIFY(m_controller->profile().mappings.first().enabled);
    QTRY_VERIFY_WITH_TIMEOUT(!loopbackPortFree(port), 5000);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(mapping.id), MappingState::Listening, 10000);
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(client.waitForConnected(5000));
    QCOMPARE(echoThrough(client, "again"), QByteArray("again"));
}

void TestMainWindow::trayActionsStartAndStop()
{
    const quint16 firstPort = unusedLoopbackPort();
    const MappingConfig first = echoMapping(firstPort);
    m_controller->setMapping(first);
    const quint16 secondPort = unusedLoopbackPort();
    const MappingConfig second = echoMapping(secondPort);
    m_controller->setMapping(second);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(second.id), MappingState::Listening, 10000);
    QTRY_COMPARE(m_tray->state(), TrayController::TrayState::Connected);

    m_tray->stopAllAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(loopbackPortFree(firstPort) && loopbackPortFree(secondPort), 5000);
    QTRY_COMPARE(m_tray->state(), TrayController::TrayState::Stopped);
    QTRY_COMPARE(stateOf(second.id), MappingState::Off);
    QAction *secondEntry = m_tray->mappingAction(second.id);
    QVERIFY(secondEntry);
    QVERIFY(!secondEntry->isChecked());

    m_tray->startAllAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(!loopbackPortFree(firstPort) && !loopbackPortFree(secondPort), 5000);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(first.id), MappingState::Listening, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(m_tray->state(), TrayController::TrayState::Connected, 10000);

    // The checkable entry of one mapping switches only that mapping.
    m_tray->mappingAction(second.id)->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(loopbackPortFree(secondPort), 5000);
    QVERIFY(!loopbackPortFree(firstPort));
    QVERIFY(m_controller->profile().mappings.at(0).enabled);
    QVERIFY(!m_controller->profile().mappings.at(1).enabled);

    // Traffic shows in the tray state.
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, firstPort);
    QVERIFY(client.waitForConnected(5000));
    client.write(QByteArray(256 * 1024, 'x'));
    QTRY_COMPARE_WITH_TIMEOUT(m_tray->state(), TrayController::TrayState::Traffic, 10000);

    QSignalSpy openSpy(m_tray.get(), &TrayController::openWindowRequested);
    m_tray->openAction()->trigger();
    QCOMPARE(openSpy.count(), 1);
}

void TestMainWindow::editorRejectsInvalidInput()
{
    const Profile before = m_controller->profile();
    MappingDialog *dialog = openAddDialog();
    QVERIFY(dialog);
    auto *message = dialog->findChild<QLabel *>(QStringLiteral("messageLabel"));
    auto *name = dialog->findChild<QLineEdit *>(QStringLiteral("nameEdit"));
    auto *listen = dialog->findChild<QLineEdit *>(QStringLiteral("listenEdit"));
    auto *target = dialog->findChild<QLineEdit *>(QStringLiteral("targetEdit"));

    QVERIFY(!okButton(dialog)->isEnabled());
    QCOMPARE(message->text(), QStringLiteral("Give the mapping a name."));
    QTest::keyClicks(name, QStringLiteral("Broken"));
    QTest::keyClicks(listen, QStringLiteral("99999"));
    QVERIFY(message->isVisible());
    QVERIFY2(message->text().contains(QStringLiteral("is not a port")),
             qPrintable(message->text()));
    QVERIFY(!okButton(dialog)->isEnabled());

    listen->clear();
    QTest::keyClicks(listen, QStringLiteral("db.example:15000"));
    QVERIFY2(message->text().contains(QStringLiteral("not an IP address")),
             qPrintable(message->text()));

    listen->setText(QString::number(unusedLoopbackPort()));
    QTest::keyClicks(target, QStringLiteral("no-port-here"));
    QVERIFY2(message->text().contains(QStringLiteral("is not a target")),
             qPrintable(message->text()));
    QVERIFY(!okButton(dialog)->isEnabled());

    // Enter on an invalid form neither accepts nor changes anything.
    QTest::keyClick(target, Qt::Key_Return);
    QVERIFY(dialog->isVisible());
    QTest::keyClick(dialog, Qt::Key_Escape);
    QTRY_VERIFY(!m_window->findChild<MappingDialog *>());
    QVERIFY(m_controller->profile() == before);

    // A port another mapping already uses is refused too.
    const MappingConfig existing = echoMapping(unusedLoopbackPort());
    m_controller->setMapping(existing);
    dialog = openAddDialog();
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("nameEdit")),
                     QStringLiteral("Twin"));
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("listenEdit")),
                     QString::number(existing.bindPort));
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("targetEdit")),
                     QStringLiteral("localhost:80"));
    QVERIFY2(dialog->problem().contains(QStringLiteral("already listens")),
             qPrintable(dialog->problem()));
    dialog->reject();
}

void TestMainWindow::editorSuggestsFreePortWhenBusy()
{
    QTcpServer squatter;
    QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));
    MappingDialog *dialog = openAddDialog();
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("nameEdit")),
                     QStringLiteral("Busy"));
    auto *listen = dialog->findChild<QLineEdit *>(QStringLiteral("listenEdit"));
    QTest::keyClicks(listen, QStringLiteral("127.0.0.1:%1").arg(squatter.serverPort()));
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("targetEdit")),
                     QStringLiteral("127.0.0.1:%1").arg(m_echo->serverPort()));
    QVERIFY2(dialog->problem().contains(QStringLiteral("already in use")),
             qPrintable(dialog->problem()));
    auto *suggest = dialog->findChild<QPushButton *>(QStringLiteral("freePortButton"));
    QVERIFY(suggest->isVisible());
    QTest::mouseClick(suggest, Qt::LeftButton);
    QVERIFY2(dialog->isValid(), qPrintable(dialog->problem()));
    QVERIFY(listen->text().startsWith(QStringLiteral("127.0.0.1:")));
    QVERIFY(listen->text() != QStringLiteral("127.0.0.1:%1").arg(squatter.serverPort()));
    QTest::mouseClick(okButton(dialog), Qt::LeftButton);
    QCOMPARE(m_controller->profile().mappings.size(), 1);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(m_controller->profile().mappings.first().id),
                              MappingState::Listening, 10000);
}

void TestMainWindow::duplicateDeleteAndReorder()
{
    const MappingConfig first = echoMapping(unusedLoopbackPort());
    m_controller->setMapping(first);
    m_window->selectMapping(first.id);
    auto *table = m_window->findChild<QTableView *>(QStringLiteral("mappingView"));
    table->setFocus();
    QTest::keyClick(table, Qt::Key_D, Qt::ControlModifier);
    QCOMPARE(m_controller->profile().mappings.size(), 2);
    const MappingConfig copy = m_controller->profile().mappings.at(1);
    QVERIFY(copy.id != first.id);
    QVERIFY(!copy.enabled);
    QVERIFY(copy.bindPort != first.bindPort);
    QCOMPARE(m_window->selectedMappingId(), copy.id);

    QTest::keyClick(table, Qt::Key_Up, Qt::ControlModifier);
    QCOMPARE(m_controller->profile().mappings.at(0).id, copy.id);
    QCOMPARE(m_window->selectedMappingId(), copy.id);
    QTest::keyClick(table, Qt::Key_Down, Qt::ControlModifier);
    QCOMPARE(m_controller->profile().mappings.at(1).id, copy.id);

    QTest::keyClick(table, Qt::Key_Delete);
    QCOMPARE(m_controller->profile().mappings.size(), 1);
    QCOMPARE(m_controller->profile().mappings.first().id, first.id);
    // The untouched mapping kept running through all of it.
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(first.id), MappingState::Listening, 10000);
}

void TestMainWindow::editingOneMappingLeavesOthersRunning()
{
    const MappingConfig steady = echoMapping(unusedLoopbackPort());
    m_controller->setMapping(steady);
    const MappingConfig edited = echoMapping(unusedLoopbackPort());
    m_controller->setMapping(edited);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(steady.id), MappingState::Listening, 10000);
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, steady.bindPort);
    QVERIFY(client.waitForConnected(5000));
    QCOMPARE(echoThrough(client, "before"), QByteArray("before"));

    m_window->selectMapping(edited.id);
    m_window->editMapping();
    auto *dialog = m_window->findChild<MappingDialog *>();
    QVERIFY(dialog);
    QVERIFY(QTest::qWaitForWindowExposed(dialog));
    auto *listen = dialog->findChild<QLineEdit *>(QStringLiteral("listenEdit"));
    const quint16 newPort = unusedLoopbackPort();
    listen->selectAll();
    QTest::keyClicks(listen, QString::number(newPort));
    QVERIFY2(dialog->isValid(), qPrintable(dialog->problem()));
    QTest::keyClick(listen, Qt::Key_Return);
    QCOMPARE(m_controller->profile().mappings.at(1).bindPort, newPort);
    QTRY_VERIFY_WITH_TIMEOUT(!loopbackPortFree(newPort) && loopbackPortFree(edited.bindPort), 5000);

    // The other mapping's connection went on as if nothing happened.
    QCOMPARE(echoThrough(client, "after"), QByteArray("after"));
    QCOMPARE(client.state(), QAbstractSocket::ConnectedState);
}

void TestMainWindow::reverseMappingAddedInEditorCarriesData()
{
    MappingDialog *dialog = openAddDialog();
    QVERIFY(dialog);
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("nameEdit")),
                     QStringLiteral("Reverse echo"));
    auto *direction = dialog->findChild<QComboBox *>(QStringLiteral("directionCombo"));
    auto *directions = qobject_cast<QStandardItemModel *>(direction->model());
    QVERIFY(directions->item(1)->isEnabled());
    QVERIFY(direction->itemData(1, Qt::ToolTipRole).isNull());
    QTest::keyClick(direction, Qt::Key_Down);
    QCOMPARE(direction->currentIndex(), 1);
    // Port 0: the remote picks a free port.
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("listenEdit")),
                     QStringLiteral("0"));
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("targetEdit")),
                     QStringLiteral("127.0.0.1:%1").arg(m_echo->serverPort()));
    QVERIFY2(dialog->isValid(), qPrintable(dialog->problem()));
    QTest::mouseClick(okButton(dialog), Qt::LeftButton);

    QCOMPARE(m_controller->profile().mappings.size(), 1);
    const MappingConfig mapping = m_controller->profile().mappings.first();
    QCOMPARE(mapping.direction, ForwardSpec::Direction::Reverse);
    QCOMPARE(mapping.bindPort, quint16(0));
    QCOMPARE(m_window->selectedMappingId(), mapping.id);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(mapping.id), MappingState::Listening, 10000);

    // The status names the port the remote bound; the table shows it instead of port 0.
    QTRY_VERIFY(remotePortInStatus() != 0);
    const quint16 port = remotePortInStatus();
    auto *status = m_window->findChild<QLabel *>(QStringLiteral("statusLabel"));
    QCOMPARE(status->text(),
             QStringLiteral("Reverse echo: Listening – listening on the remote at 127.0.0.1:%1")
                 .arg(port));
    QCOMPARE(statsOf(mapping.id).listenEndpoint, QStringLiteral("127.0.0.1:%1").arg(port));
    auto *table = m_window->findChild<QTableView *>(QStringLiteral("mappingView"));
    QTRY_COMPARE(table->model()->index(0, MappingTableModel::StateColumn).data().toString(),
                 QStringLiteral("Listening"));
    QCOMPARE(table->model()->index(0, MappingTableModel::DirectionColumn).data().toString(),
             QStringLiteral("Reverse"));
    QCOMPARE(table->model()->index(0, MappingTableModel::ListenColumn).data().toString(),
             QStringLiteral("127.0.0.1:%1").arg(port));
    QCOMPARE(
        table->model()->index(0, MappingTableModel::StateColumn).data(Qt::ToolTipRole).toString(),
        QStringLiteral("listening on the remote at 127.0.0.1:%1").arg(port));

    QSignalSpy snapshots(m_controller.get(), &AppController::snapshotUpdated);
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(client.waitForConnected(5000));
    const QByteArray payload = QByteArray("from the remote side to this computer ").repeated(1000);
    QCOMPARE(echoThrough(client, payload), payload);

    // The channel the remote opened belongs to the mapping: connections view, counts, bytes.
    auto *channels = m_window->findChild<QTableView *>(QStringLiteral("channelView"));
    QTRY_COMPARE(channels->model()->rowCount(), 1);
    QTRY_COMPARE(table->model()->index(0, MappingTableModel::ConnectionsColumn).data().toString(),
                 QStringLiteral("1"));
    QTRY_COMPARE(stateOf(mapping.id), MappingState::Active);
    QCOMPARE(channels->model()->index(0, ChannelTableModel::ClientColumn).data().toString(),
             QStringLiteral("127.0.0.1:%1 on the remote").arg(port));
    QCOMPARE(channels->model()->index(0, ChannelTableModel::TargetColumn).data().toString(),
             QStringLiteral("127.0.0.1:%1").arg(m_echo->serverPort()));
    const QString size = Formatting::bytes(quint64(payload.size()));
    QTRY_COMPARE(channels->model()->index(0, ChannelTableModel::BytesInColumn).data().toString(),
                 size);
    QTRY_COMPARE(channels->model()->index(0, ChannelTableModel::BytesOutColumn).data().toString(),
                 size);
    QVERIFY(!channels->model()->index(0, ChannelTableModel::AgeColumn).data().toString().isEmpty());
    QTRY_VERIFY(statsOf(mapping.id).bytesIn == quint64(payload.size()) &&
                statsOf(mapping.id).bytesOut == quint64(payload.size()));
    // The snapshot in which the bytes first appeared carried them as a rate both ways.
    bool rateIn = false;
    bool rateOut = false;
    for (const QList<QVariant> &arguments : std::as_const(snapshots)) {
        const EngineSnapshot snapshot = arguments.first().value<EngineSnapshot>();
        if (const MappingStats *stats = snapshot.mapping(mapping.id)) {
            rateIn = rateIn || stats->rateIn > 0;
            rateOut = rateOut || stats->rateOut > 0;
        }
    }
    QVERIFY(rateIn && rateOut);

    channels->selectRow(0);
    auto *closeButton = m_window->findChild<QPushButton *>(QStringLiteral("closeChannelButton"));
    QVERIFY(closeButton->isEnabled());
    QTest::mouseClick(closeButton, Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), QAbstractSocket::UnconnectedState, 5000);
    QTRY_COMPARE(channels->model()->rowCount(), 0);
    QTRY_COMPARE(stateOf(mapping.id), MappingState::Listening);
    // Finished connections still count in the mapping's traffic.
    QCOMPARE(statsOf(mapping.id).bytesIn, quint64(payload.size()));
}

void TestMainWindow::togglingReverseMappingClosesAndReopensRemotePort()
{
    const quint16 port = unusedLoopbackPort();
    const MappingConfig mapping = reverseEchoMapping(port);
    m_controller->setMapping(mapping);
    m_window->selectMapping(mapping.id);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(mapping.id), MappingState::Listening, 10000);
    QTRY_COMPARE(remotePortInStatus(), port);
    QVERIFY(!loopbackPortFree(port));

    QTcpSocket held;
    held.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(held.waitForConnected(5000));
    held.write("held");
    QTRY_COMPARE_WITH_TIMEOUT(held.peek(16), QByteArray("held"), 10000);

    // Off: the remote closes its port and resets the connection it carried.
    auto *table = m_window->findChild<QTableView *>(QStringLiteral("mappingView"));
    table->setFocus();
    QTest::keyClick(table, Qt::Key_Space);
    QVERIFY(!m_controller->profile().mappings.first().enabled);
    QTRY_COMPARE_WITH_TIMEOUT(held.state(), QAbstractSocket::UnconnectedState, 5000);
    QTRY_COMPARE(stateOf(mapping.id), MappingState::Off);
    QTRY_VERIFY_WITH_TIMEOUT(loopbackPortFree(port), 5000);
    QTcpSocket refused;
    refused.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(!refused.waitForConnected(5000));
    QCOMPARE(refused.error(), QAbstractSocket::ConnectionRefusedError);
    QCOMPARE(table->model()->index(0, MappingTableModel::StateColumn).data().toString(),
             QStringLiteral("Off"));

    // On: the same port is back.
    QTest::keyClick(table, Qt::Key_Space);
    QVERIFY(m_controller->profile().mappings.first().enabled);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(mapping.id), MappingState::Listening, 10000);
    QVERIFY(!loopbackPortFree(port));
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(client.waitForConnected(5000));
    QCOMPARE(echoThrough(client, "again"), QByteArray("again"));

    // The tray's entry and stop/start all switch it like any mapping.
    QAction *entry = m_tray->mappingAction(mapping.id);
    QVERIFY(entry);
    QVERIFY(entry->isChecked());
    QCOMPARE(entry->text(), QStringLiteral("%1 (remote 127.0.0.1:%2 → 127.0.0.1:%3)")
                                .arg(mapping.name)
                                .arg(port)
                                .arg(m_echo->serverPort()));
    m_tray->stopAllAction()->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), QAbstractSocket::UnconnectedState, 5000);
    QTRY_COMPARE(stateOf(mapping.id), MappingState::Off);
    QTRY_VERIFY_WITH_TIMEOUT(loopbackPortFree(port), 5000);
    QVERIFY(!m_tray->mappingAction(mapping.id)->isChecked());
    m_tray->startAllAction()->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(mapping.id), MappingState::Listening, 10000);
    QTRY_COMPARE(m_tray->state(), TrayController::TrayState::Connected);
    m_tray->mappingAction(mapping.id)->trigger();
    QTRY_COMPARE(stateOf(mapping.id), MappingState::Off);
    QVERIFY(!m_controller->profile().mappings.first().enabled);
    QTRY_VERIFY_WITH_TIMEOUT(loopbackPortFree(port), 5000);
}

void TestMainWindow::editingReverseMappingLeavesOthersRunning()
{
    const MappingConfig local = echoMapping(unusedLoopbackPort());
    m_controller->setMapping(local);
    const MappingConfig other = reverseEchoMapping(unusedLoopbackPort());
    m_controller->setMapping(other);
    const MappingConfig edited = reverseEchoMapping(unusedLoopbackPort());
    m_controller->setMapping(edited);
    for (const MappingConfig &mapping : {local, other, edited})
        QTRY_COMPARE_WITH_TIMEOUT(stateOf(mapping.id), MappingState::Listening, 10000);

    // A connection through each of the two mappings not edited.
    QTcpSocket throughLocal;
    throughLocal.connectToHost(QHostAddress::LocalHost, local.bindPort);
    QTcpSocket throughOther;
    throughOther.connectToHost(QHostAddress::LocalHost, other.bindPort);
    QVERIFY(throughLocal.waitForConnected(5000) && throughOther.waitForConnected(5000));
    throughLocal.write("local ");
    throughOther.write("other ");
    QByteArray localEcho;
    QByteArray otherEcho;
    QTRY_VERIFY_WITH_TIMEOUT((localEcho += throughLocal.readAll()).size() >= 6 &&
                                 (otherEcho += throughOther.readAll()).size() >= 6,
                             10000);

    // Move the edited reverse mapping to another remote port in the editor.
    m_window->selectMapping(edited.id);
    m_window->editMapping();
    auto *dialog = m_window->findChild<MappingDialog *>();
    QVERIFY(dialog);
    QVERIFY(QTest::qWaitForWindowExposed(dialog));
    QCOMPARE(dialog->findChild<QComboBox *>(QStringLiteral("directionCombo"))->currentIndex(), 1);
    auto *listen = dialog->findChild<QLineEdit *>(QStringLiteral("listenEdit"));
    const quint16 newPort = unusedLoopbackPort();
    listen->selectAll();
    QTest::keyClicks(listen, QString::number(newPort));
    QVERIFY2(dialog->isValid(), qPrintable(dialog->problem()));
    QTest::keyClick(listen, Qt::Key_Return);
    QCOMPARE(m_controller->profile().mappings.at(2).bindPort, newPort);
    QTRY_COMPARE_WITH_TIMEOUT(remotePortInStatus(), newPort, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(loopbackPortFree(edited.bindPort), 5000);
    QTcpSocket moved;
    moved.connectToHost(QHostAddress::LocalHost, newPort);
    QVERIFY(moved.waitForConnected(5000));
    moved.write("moved");
    QByteArray movedEcho;
    QTRY_VERIFY_WITH_TIMEOUT((movedEcho += moved.readAll()).size() >= 5, 10000);
    QCOMPARE(movedEcho, QByteArray("moved"));

    // Deleting it closes its remote port; the others' connections go on as if nothing happened.
    m_window->deleteMapping();
    QCOMPARE(m_controller->profile().mappings.size(), 2);
    QTRY_COMPARE_WITH_TIMEOUT(moved.state(), QAbstractSocket::UnconnectedState, 5000);
    QTRY_VERIFY_WITH_TIMEOUT(loopbackPortFree(newPort), 5000);
    throughLocal.write("again");
    throughOther.write("again");
    QTRY_VERIFY_WITH_TIMEOUT((localEcho += throughLocal.readAll()).size() >= 11 &&
                                 (otherEcho += throughOther.readAll()).size() >= 11,
                             10000);
    QCOMPARE(localEcho, QByteArray("local again"));
    QCOMPARE(otherEcho, QByteArray("other again"));
    QCOMPARE(throughLocal.state(), QAbstractSocket::ConnectedState);
    QCOMPARE(throughOther.state(), QAbstractSocket::ConnectedState);
    QCOMPARE(statsOf(other.id).openChannels, 1);
}

void TestMainWindow::reverseMappingOnBusyRemotePortShowsErrorWhileLocalWorks()
{
    QTcpServer squatter;
    QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));
    const MappingConfig local = echoMapping(unusedLoopbackPort());
    m_controller->setMapping(local);
    const MappingConfig busy = reverseEchoMapping(squatter.serverPort());
    m_controller->setMapping(busy);
    m_window->selectMapping(busy.id);

    // The remote's reason is the mapping's error: in the snapshot, the status and the table.
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(busy.id), MappingState::Error, 10000);
    const QString reason = statsOf(busy.id).reason;
    QVERIFY2(reason.startsWith(QStringLiteral("the remote refused: cannot listen on 127.0.0.1:%1: ")
                                   .arg(squatter.serverPort())),
             qPrintable(reason));
    auto *status = m_window->findChild<QLabel *>(QStringLiteral("statusLabel"));
    QTRY_COMPARE(status->text(), QStringLiteral("%1: Error – %2").arg(busy.name, reason));
    auto *table = m_window->findChild<QTableView *>(QStringLiteral("mappingView"));
    const QModelIndex stateCell = table->model()->index(1, MappingTableModel::StateColumn);
    QTRY_COMPARE(stateCell.data().toString(), QStringLiteral("Error"));
    QCOMPARE(stateCell.data(Qt::ToolTipRole).toString(), reason);
    QTRY_COMPARE(m_tray->state(), TrayController::TrayState::Error);

    // The local mapping through the same remote carries on.
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(local.id), MappingState::Listening, 10000);
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, local.bindPort);
    QVERIFY(client.waitForConnected(5000));
    QCOMPARE(echoThrough(client, "still here"), QByteArray("still here"));

    // The remote accepts loopback addresses only, and says so.
    MappingConfig exposed = reverseEchoMapping(unusedLoopbackPort());
    exposed.bindHost = QStringLiteral("0.0.0.0");
    m_controller->setMapping(exposed);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(exposed.id), MappingState::Error, 10000);
    QVERIFY2(statsOf(exposed.id).reason.contains(QStringLiteral("loopback")),
             qPrintable(statsOf(exposed.id).reason));
    m_controller->removeMapping(exposed.id);

    // Once the port is free, switching the mapping off and on brings it up.
    squatter.close();
    m_controller->setMappingEnabled(busy.id, false);
    QTRY_COMPARE(stateOf(busy.id), MappingState::Off);
    m_controller->setMappingEnabled(busy.id, true);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(busy.id), MappingState::Listening, 10000);
    QTRY_COMPARE(remotePortInStatus(), squatter.serverPort());
    QCOMPARE(echoThrough(client, " and again"), QByteArray(" and again"));
}

void TestMainWindow::reverseMappingFollowsItsRemoteThroughReconnect()
{
    TokenStore tokens;
    tokens.add("reverse-token");
    AllowList allowList;
    allowList.addLoopbackDefaults();
    TunnelServer server(ServerSettings(), tokens, allowList);
    QString error;
    QVERIFY2(server.listen(&error), qPrintable(error));
    RemoteConfig remote;
    remote.id = Profile::newId();
    remote.name = QStringLiteral("Dev box");
    remote.url = QUrl(server.url());
    m_controller->setRemote(remote, QByteArray("reverse-token"));
    const quint16 port = unusedLoopbackPort();
    MappingConfig mapping = reverseEchoMapping(port);
    mapping.remoteId = remote.id;
    m_controller->setMapping(mapping);
    m_window->selectMapping(mapping.id);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(mapping.id), MappingState::Listening, 10000);
    QTRY_COMPARE(remotePortInStatus(), port);

    // While the remote is away the mapping is connecting, and its port is gone with the session.
    server.shutdown(QStringLiteral("restart"));
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(mapping.id), MappingState::Connecting, 10000);
    QTRY_COMPARE(remotePortInStatus(), quint16(0));
    QTRY_VERIFY_WITH_TIMEOUT(loopbackPortFree(port), 5000);

    // Back: the client asks the remote to listen again.
    QVERIFY2(server.listen(&error), qPrintable(error));
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(mapping.id), MappingState::Listening, 20000);
    QTRY_COMPARE(remotePortInStatus(), port);
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(client.waitForConnected(5000));
    QCOMPARE(echoThrough(client, "after the reconnect"), QByteArray("after the reconnect"));
    QTRY_COMPARE(statsOf(mapping.id).openChannels, 1);
}

void TestMainWindow::editorValidatesReverseMappings()
{
    // Ports on this computer do not matter to a reverse mapping: its port is on the remote.
    QTcpServer squatter;
    QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));
    const MappingConfig local = echoMapping(unusedLoopbackPort());
    m_controller->setMapping(local);
    const MappingConfig reverse = reverseEchoMapping(unusedLoopbackPort());
    m_controller->setMapping(reverse);

    MappingDialog *dialog = openAddDialog();
    QVERIFY(dialog);
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("nameEdit")),
                     QStringLiteral("Reverse"));
    auto *direction = dialog->findChild<QComboBox *>(QStringLiteral("directionCombo"));
    auto *listen = dialog->findChild<QLineEdit *>(QStringLiteral("listenEdit"));
    auto *target = dialog->findChild<QLineEdit *>(QStringLiteral("targetEdit"));
    QVERIFY(target->placeholderText().contains(QStringLiteral("as seen from the remote")));
    QTest::keyClick(direction, Qt::Key_Down);
    QCOMPARE(direction->currentIndex(), 1);
    QVERIFY2(target->placeholderText().contains(QStringLiteral("as seen from this computer")),
             qPrintable(target->placeholderText()));
    QVERIFY(listen->placeholderText().contains(QStringLiteral("on the remote")));
    QTest::keyClicks(target, QStringLiteral("127.0.0.1:%1").arg(m_echo->serverPort()));
    QVERIFY2(dialog->problem().contains(QStringLiteral("Enter the port the remote listens on")),
             qPrintable(dialog->problem()));

    QTest::keyClicks(listen, QString::number(squatter.serverPort()));
    QVERIFY2(dialog->isValid(), qPrintable(dialog->problem()));
    QVERIFY(!dialog->findChild<QPushButton *>(QStringLiteral("freePortButton"))->isVisible());

    // A local mapping's port is another matter; another reverse mapping's on this remote is not.
    listen->setText(QString::number(local.bindPort));
    QVERIFY2(dialog->isValid(), qPrintable(dialog->problem()));
    listen->setText(QString::number(reverse.bindPort));
    QVERIFY2(dialog->problem().contains(QStringLiteral("already listens")),
             qPrintable(dialog->problem()));

    listen->setText(QStringLiteral("99999"));
    QVERIFY2(dialog->problem().contains(QStringLiteral("is not a port")),
             qPrintable(dialog->problem()));
    listen->setText(QStringLiteral("db.example:9000"));
    QVERIFY2(dialog->problem().contains(QStringLiteral("not an IP address")),
             qPrintable(dialog->problem()));
    target->setText(QStringLiteral("no-port-here"));
    listen->setText(QStringLiteral("127.0.0.1:0"));
    QVERIFY2(dialog->problem().contains(QStringLiteral("is not a target")),
             qPrintable(dialog->problem()));
    target->setText(QStringLiteral("localhost:8080"));
    QVERIFY2(dialog->isValid(), qPrintable(dialog->problem()));
    QTest::mouseClick(okButton(dialog), Qt::LeftButton);
    QCOMPARE(m_controller->profile().mappings.size(), 3);
    const MappingConfig saved = m_controller->profile().mappings.last();
    QCOMPARE(saved.direction, ForwardSpec::Direction::Reverse);
    QCOMPARE(saved.bindEndpoint(), QStringLiteral("127.0.0.1:0"));
    QCOMPARE(saved.targetEndpoint(), QStringLiteral("localhost:8080"));

    // Port 0 twice is fine (the remote picks two ports), and editing keeps the 0.
    QTRY_VERIFY(!m_window->findChild<MappingDialog *>());
    m_window->selectMapping(saved.id);
    m_window->duplicateMapping();
    QCOMPARE(m_controller->profile().mappings.size(), 4);
    m_window->editMapping();
    dialog = m_window->findChild<MappingDialog *>();
    QVERIFY(dialog);
    QVERIFY(QTest::qWaitForWindowExposed(dialog));
    QCOMPARE(dialog->findChild<QComboBox *>(QStringLiteral("directionCombo"))->currentIndex(), 1);
    QCOMPARE(dialog->findChild<QLineEdit *>(QStringLiteral("listenEdit"))->text(),
             QStringLiteral("127.0.0.1:0"));
    dialog->findChild<QCheckBox *>(QStringLiteral("enabledCheck"))->setChecked(true);
    QVERIFY2(dialog->isValid(), qPrintable(dialog->problem()));
    dialog->reject();
}

void TestMainWindow::remoteEditorStoresSettingsAndTokenApart()
{
    m_window->addRemote();
    auto *dialog = m_window->findChild<RemoteDialog *>();
    QVERIFY(dialog);
    QVERIFY(QTest::qWaitForWindowExposed(dialog));
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("nameEdit")),
                     QStringLiteral("Dev"));
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("urlEdit")),
                     QStringLiteral("wss://devbox.example:8443/t"));
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("tokenEdit")),
                     QStringLiteral("top-secret-token"));
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("caFileEdit")),
                     QStringLiteral("/etc/ca.pem"));
    auto *proxyMode = dialog->findChild<QComboBox *>(QStringLiteral("proxyModeCombo"));
    proxyMode->setCurrentIndex(2);
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("proxyUrlEdit")),
                     QStringLiteral("http://proxy:3128"));
    auto *headers = dialog->findChild<QPlainTextEdit *>(QStringLiteral("headersEdit"));
    headers->setPlainText(QStringLiteral("not a header"));
    QVERIFY2(dialog->problem().contains(QStringLiteral("Name: value")),
             qPrintable(dialog->problem()));
    QVERIFY(!okButton(dialog)->isEnabled());
    headers->setPlainText(QStringLiteral("X-Team: backend"));
    QVERIFY2(dialog->isValid(), qPrintable(dialog->problem()));
    QTest::mouseClick(okButton(dialog), Qt::LeftButton);

    QCOMPARE(m_controller->profile().remotes.size(), 2);
    const RemoteConfig remote = m_controller->profile().remotes.at(1);
    QCOMPARE(remote.url, QUrl(QStringLiteral("wss://devbox.example:8443/t")));
    QCOMPARE(remote.caFile, QStringLiteral("/etc/ca.pem"));
    QCOMPARE(remote.proxyMode, ClientSettings::ProxyMode::Manual);
    QCOMPARE(remote.headers.size(), 1);
    QCOMPARE(m_controller->token(remote.id), QByteArray("top-secret-token"));

    QFile profile(m_controller->profilePath());
    QVERIFY(profile.open(QIODevice::ReadOnly));
    QVERIFY(!profile.readAll().contains("top-secret-token"));
    QString error;
    QCOMPARE(*m_secrets->read(QStringLiteral("remote/%1/token").arg(remote.id), &error),
             QByteArray("top-secret-token"));

    // After a restart the remote and its token are back.
    createWindow();
    QCOMPARE(m_controller->profile().remotes.at(1), remote);
    QCOMPARE(m_controller->token(remote.id), QByteArray("top-secret-token"));
}

void TestMainWindow::mappingThroughHubReachesItsAgent()
{
    TokenStore tokens;
    tokens.add("desktop-token",
               Identity{QStringLiteral("desktop token"), Identity::Kind::Desktop, {}});
    tokens.add(
        "agent-token",
        Identity{QStringLiteral("agent token"), Identity::Kind::Agent, {QStringLiteral("devbox")}});
    HubServer hub(ServerSettings(), tokens);
    QString error;
    QVERIFY2(hub.listen(&error), qPrintable(error));
    ClientSettings agentSettings;
    agentSettings.url = QUrl(hub.url());
    agentSettings.token = "agent-token";
    agentSettings.proxyMode = ClientSettings::ProxyMode::None;
    AllowList allowList;
    allowList.addLoopbackDefaults();
    AgentConnection agent(agentSettings, QStringLiteral("devbox"), allowList);
    QSignalSpy registered(&agent, &AgentConnection::registered);
    agent.start();
    QVERIFY(registered.wait(10000));

    m_window->addRemote();
    auto *dialog = m_window->findChild<RemoteDialog *>();
    QVERIFY(dialog);
    QVERIFY(QTest::qWaitForWindowExposed(dialog));
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("nameEdit")),
                     QStringLiteral("Dev box through the hub"));
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("urlEdit")), hub.url());
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("tokenEdit")),
                     QStringLiteral("desktop-token"));
    dialog->findChild<QComboBox *>(QStringLiteral("proxyModeCombo"))->setCurrentIndex(1);
    auto *agentEdit = dialog->findChild<QLineEdit *>(QStringLiteral("agentEdit"));
    QTest::keyClicks(agentEdit, QStringLiteral("dev box"));
    QVERIFY2(dialog->problem().contains(QStringLiteral("agent name")),
             qPrintable(dialog->problem()));
    QVERIFY(!okButton(dialog)->isEnabled());
    agentEdit->setText(QStringLiteral("devbox"));
    QVERIFY2(dialog->isValid(), qPrintable(dialog->problem()));
    QTest::mouseClick(okButton(dialog), Qt::LeftButton);
    QCOMPARE(m_controller->profile().remotes.size(), 2);
    const RemoteConfig remote = m_controller->profile().remotes.at(1);
    QCOMPARE(remote.agent, QStringLiteral("devbox"));

    const quint16 port = unusedLoopbackPort();
    MappingConfig mapping = echoMapping(port);
    mapping.remoteId = remote.id;
    m_controller->setMapping(mapping);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(mapping.id), MappingState::Listening, 10000);
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(client.waitForConnected(5000));
    // A hub connects no targets itself: the echo comes back only through the agent.
    const QByteArray payload = QByteArray("through the hub to devbox ").repeated(1000);
    QCOMPARE(echoThrough(client, payload), payload);
    QTRY_COMPARE(statsOf(mapping.id).openChannels, 1);
    // The remote says which agent instance serves the name, as the hub sees it.
    auto *remotes = m_window->findChild<QListWidget *>(QStringLiteral("remoteList"));
    QTRY_VERIFY2(remotes->item(1)->toolTip().contains(
                     QStringLiteral("Agent devbox is served by 127.0.0.1:")),
                 qPrintable(remotes->item(1)->toolTip()));

    // The agent survives a restart of the app with the rest of the remote.
    createWindow();
    QCOMPARE(m_controller->profile().remotes.at(1), remote);
}

void TestMainWindow::remoteEditorListsTheAgentsTheHubReports()
{
    TokenStore tokens;
    tokens.add(
        "dev-token",
        Identity{QStringLiteral("dev token"), Identity::Kind::Desktop, {QStringLiteral("dev*")}});
    tokens.add(
        "agent-token",
        Identity{QStringLiteral("agent token"), Identity::Kind::Agent, {QStringLiteral("*")}});
    HubServer hub(ServerSettings(), tokens);
    QString error;
    QVERIFY2(hub.listen(&error), qPrintable(error));
    ClientSettings agentSettings;
    agentSettings.url = QUrl(hub.url());
    agentSettings.token = "agent-token";
    agentSettings.proxyMode = ClientSettings::ProxyMode::None;
    AllowList allowList;
    allowList.addLoopbackDefaults();
    std::vector<std::unique_ptr<AgentConnection>> agents;
    for (const QString &name :
         {QStringLiteral("devbox"), QStringLiteral("devbox"), QStringLiteral("payroll")}) {
        agents.push_back(std::make_unique<AgentConnection>(agentSettings, name, allowList));
        QSignalSpy registered(agents.back().get(), &AgentConnection::registered);
        agents.back()->start();
        QVERIFY(registered.wait(10000));
    }

    m_window->addRemote();
    auto *dialog = m_window->findChild<RemoteDialog *>();
    QVERIFY(dialog);
    QVERIFY(QTest::qWaitForWindowExposed(dialog));
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("nameEdit")),
                     QStringLiteral("Hub"));
    QTest::keyClicks(dialog->findChild<QLineEdit *>(QStringLiteral("urlEdit")), hub.url());
    auto *tokenEdit = dialog->findChild<QLineEdit *>(QStringLiteral("tokenEdit"));
    QTest::keyClicks(tokenEdit, QStringLiteral("a-wrong-token"));
    dialog->findChild<QComboBox *>(QStringLiteral("proxyModeCombo"))->setCurrentIndex(1);
    auto *find = dialog->findChild<QPushButton *>(QStringLiteral("findAgentsButton"));
    auto *list = dialog->findChild<QTreeWidget *>(QStringLiteral("agentList"));
    auto *status = dialog->findChild<QLabel *>(QStringLiteral("agentListStatus"));
    auto *agentEdit = dialog->findChild<QLineEdit *>(QStringLiteral("agentEdit"));
    QVERIFY(find && list && status && agentEdit);
    QVERIFY(!list->isVisible());

    // A refusal is shown in the dialog, in the app's words.
    QTest::mouseClick(find, Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(find->isEnabled(), 10000);
    QVERIFY2(status->text().contains(QStringLiteral("refused the token")),
             qPrintable(status->text()));
    QVERIFY(!list->isVisible());

    tokenEdit->setText(QStringLiteral("dev-token"));
    QTest::mouseClick(find, Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(list->isVisible(), 10000);
    // Only the name the token may reach, its active instance heading its standby.
    QCOMPARE(list->topLevelItemCount(), 1);
    QTreeWidgetItem *devbox = list->topLevelItem(0);
    QCOMPARE(devbox->text(0), QStringLiteral("devbox"));
    QCOMPARE(devbox->text(1), QStringLiteral("active, 1 on standby"));
    QCOMPARE(devbox->text(2), hub.registry().active(QStringLiteral("devbox"))->peerAddress());
    QVERIFY2(devbox->text(3).endsWith(QStringLiteral(" s")), qPrintable(devbox->text(3)));
    QCOMPARE(devbox->childCount(), 1);
    QCOMPARE(devbox->child(0)->text(1), QStringLiteral("standby"));
    QVERIFY(devbox->child(0)->text(2) != devbox->text(2));
    QCOMPARE(status->text(), QStringLiteral("Agents online: 1. Pick one to reach it."));
    QVERIFY(agentEdit->text().isEmpty());

    // Picking a row fills in the agent; the remote is saved with it.
    list->setCurrentItem(devbox);
    QCOMPARE(agentEdit->text(), QStringLiteral("devbox"));
    QVERIFY2(dialog->isValid(), qPrintable(dialog->problem()));
    QTest::mouseClick(okButton(dialog), Qt::LeftButton);
    QCOMPARE(m_controller->profile().remotes.at(1).agent, QStringLiteral("devbox"));
}

void TestMainWindow::rejectedCertificateIsTrustedOnlyWhenConfirmed()
{
    // A server with a self-signed certificate, as a dev box often has.
    const QString certFile = m_dir->filePath(QStringLiteral("server.pem"));
    const QString keyFile = m_dir->filePath(QStringLiteral("server.key"));
    QProcess openssl;
    openssl.start(QStringLiteral("openssl"),
                  {QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"),
                   QStringLiteral("ec"), QStringLiteral("-pkeyopt"),
                   QStringLiteral("ec_paramgen_curve:prime256v1"), QStringLiteral("-nodes"),
                   QStringLiteral("-days"), QStringLiteral("2"), QStringLiteral("-subj"),
                   QStringLiteral("/CN=wstunnel gui test"), QStringLiteral("-keyout"), keyFile,
                   QStringLiteral("-out"), certFile});
    if (!openssl.waitForStarted(10000))
        QSKIP("openssl is not installed");
    QVERIFY(openssl.waitForFinished(30000));
    QVERIFY2(openssl.exitCode() == 0, openssl.readAllStandardError().constData());
    const QList<QSslCertificate> certificates = QSslCertificate::fromPath(certFile);
    QCOMPARE(certificates.size(), 1);
    const QString fingerprint =
        QString::fromLatin1(certificates.first().digest(QCryptographicHash::Sha256).toHex(':'))
            .toUpper();

    ServerSettings settings;
    settings.tls.certFile = certFile;
    settings.tls.keyFile = keyFile;
    TokenStore tokens;
    tokens.add("tls-token");
    AllowList allowList;
    allowList.addLoopbackDefaults();
    TunnelServer server(settings, tokens, allowList);
    QString error;
    QVERIFY2(server.listen(&error), qPrintable(error));

    RemoteConfig remote;
    remote.id = Profile::newId();
    remote.name = QStringLiteral("Self-signed");
    remote.url = QUrl(QStringLiteral("wss://127.0.0.1:%1/").arg(server.serverPort()));
    m_controller->setRemote(remote, QByteArray("tls-token"));
    const quint16 port = unusedLoopbackPort();
    MappingConfig mapping = echoMapping(port);
    mapping.remoteId = remote.id;
    m_controller->setMapping(mapping);
    m_window->selectMapping(mapping.id);

    // The refusal reaches the window with the reason and the fingerprint.
    const auto remoteStats = [this, &remote] {
        const EngineSnapshot snapshot = m_controller->snapshot();
        const RemoteStats *stats = snapshot.remote(remote.id);
        return stats ? *stats : RemoteStats();
    };
    QTRY_COMPARE_WITH_TIMEOUT(remoteStats().rejectedCertificateSha256, fingerprint, 10000);
    const QString problem = remoteStats().certificateProblem;
    QVERIFY(!problem.isEmpty());
    QCOMPARE(remoteStats().state, RemoteState::Failed);
    QTRY_COMPARE(stateOf(mapping.id), MappingState::Error);
    auto *table = m_window->findChild<QTableView *>(QStringLiteral("mappingView"));
    QTRY_COMPARE(table->model()->index(0, MappingTableModel::StateColumn).data().toString(),
                 QStringLiteral("Error"));
    auto *status = m_window->findChild<QLabel *>(QStringLiteral("statusLabel"));
    QTRY_VERIFY2(status->text().contains(fingerprint), qPrintable(status->text()));
    auto *remoteList = m_window->findChild<QListWidget *>(QStringLiteral("remoteList"));
    QListWidgetItem *remoteItem = remoteList->item(1);
    QCOMPARE(remoteItem->text(), remote.name);
    QTRY_VERIFY(remoteItem->toolTip().contains(fingerprint));
    QVERIFY(remoteItem->toolTip().contains(problem));

    // The action is offered in the remote's context menu and next to the status.
    auto *trustAction = m_window->findChild<QAction *>(QStringLiteral("trustCertificateAction"));
    QVERIFY(trustAction);
    QVERIFY(remoteList->actions().contains(trustAction));
    QTRY_VERIFY(trustAction->isEnabled());
    auto *trustButton =
        m_window->findChild<QToolButton *>(QStringLiteral("trustCertificateButton"));
    QVERIFY(trustButton->isVisible());
    remoteList->setCurrentItem(remoteItem);
    QCOMPARE(m_window->selectedRemoteId(), remote.id);
    QVERIFY(trustAction->isEnabled());

    const auto openTrustBox = [this, trustAction]() -> QMessageBox * {
        trustAction->trigger();
        auto *box = m_window->findChild<QMessageBox *>(QStringLiteral("trustCertificateBox"));
        return box && QTest::qWaitForWindowExposed(box) ? box : nullptr;
    };
    QMessageBox *box = openTrustBox();
    QVERIFY(box);
    QVERIFY2(box->text().contains(fingerprint), qPrintable(box->text()));
    QVERIFY(box->text().contains(remote.url.toDisplayString()));
    QVERIFY(box->text().contains(problem.toHtmlEscaped()));
    QCOMPARE(box->defaultButton(), box->button(QMessageBox::Cancel));
    QTest::mouseClick(box->button(QMessageBox::Cancel), Qt::LeftButton);
    QTRY_VERIFY(!m_window->findChild<QMessageBox *>(QStringLiteral("trustCertificateBox")));

    // Cancel trusts nothing: the remote stays refused, and no session reaches the server.
    QSignalSpy snapshots(m_controller.get(), &AppController::snapshotUpdated);
    QVERIFY(snapshots.wait(5000));
    QVERIFY(m_controller->profile().remotes.at(1).trustedCertificateSha256.isEmpty());
    QCOMPARE(remoteStats().state, RemoteState::Failed);
    QCOMPARE(remoteStats().rejectedCertificateSha256, fingerprint);
    QVERIFY(server.sessions().isEmpty());

    // Confirming trusts exactly that certificate, saves it and reconnects.
    box = openTrustBox();
    QVERIFY(box);
    QTest::mouseClick(box->findChild<QPushButton *>(QStringLiteral("trustButton")), Qt::LeftButton);
    const QByteArray trusted = fingerprint.toLatin1().toLower().replace(':', QByteArray());
    QCOMPARE(m_controller->profile().remotes.at(1).trustedCertificateSha256, trusted);
    QFile saved(m_controller->profilePath());
    QVERIFY(saved.open(QIODevice::ReadOnly));
    QVERIFY(saved.readAll().contains(trusted));
    QTRY_COMPARE_WITH_TIMEOUT(remoteStats().state, RemoteState::Connected, 10000);
    QVERIFY(remoteStats().rejectedCertificateSha256.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(mapping.id), MappingState::Listening, 10000);
    QTRY_VERIFY(!trustAction->isEnabled());
    QVERIFY(!trustButton->isVisible());

    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(client.waitForConnected(5000));
    const QByteArray payload = QByteArray("through a trusted certificate ").repeated(100);
    QCOMPARE(echoThrough(client, payload), payload);
    QCOMPARE(server.sessions().size(), 1);
}

void TestMainWindow::profileRoundTripsThroughSaveLoadImportExport()
{
    m_controller->setMapping(echoMapping(unusedLoopbackPort()));
    MappingConfig off = echoMapping(unusedLoopbackPort());
    off.enabled = false;
    m_controller->setMapping(off);
    const Profile saved = m_controller->profile();

    // Load: a restarted app reads what the last one saved.
    createWindow();
    QVERIFY(m_controller->profile() == saved);

    const QString exported = m_dir->filePath(QStringLiteral("exported.json"));
    QVERIFY(m_window->exportProfile(exported));
    m_controller->removeMapping(saved.mappings.first().id);
    m_controller->removeMapping(saved.mappings.last().id);
    QVERIFY(m_controller->profile().mappings.isEmpty());

    QVERIFY(m_window->importProfile(exported));
    QVERIFY(m_controller->profile() == saved);
    QString error;
    QVERIFY(*ProfileStore::read(m_controller->profilePath(), &error) == saved);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(saved.mappings.first().id), MappingState::Listening, 10000);
}

void TestMainWindow::invalidImportChangesNothing()
{
    m_controller->setMapping(echoMapping(unusedLoopbackPort()));
    const Profile before = m_controller->profile();
    QFile profileFile(m_controller->profilePath());
    QVERIFY(profileFile.open(QIODevice::ReadOnly));
    const QByteArray onDisk = profileFile.readAll();
    profileFile.close();

    const QString newer = m_dir->filePath(QStringLiteral("newer.json"));
    QFile file(newer);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(R"({"format":"wstunnel-profile","version":99,"remotes":[],"mappings":[]})");
    file.close();
    QVERIFY(!m_window->importProfile(newer));
    QMessageBox *box = nullptr;
    QTRY_VERIFY((box = m_window->findChild<QMessageBox *>(QStringLiteral("problemBox"))));
    QVERIFY2(box->text().contains(QStringLiteral("newer WSTunnel")), qPrintable(box->text()));
    box->accept();
    QVERIFY(m_controller->profile() == before);
    QVERIFY(profileFile.open(QIODevice::ReadOnly));
    QCOMPARE(profileFile.readAll(), onDisk);
}

void TestMainWindow::unreadableProfileIsNeverOverwritten()
{
    const QString path = m_controller->profilePath();
    m_window.reset();
    m_tray.reset();
    m_controller.reset();
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    const QByteArray broken("{ \"format\": \"wstunnel-profile\", truncated");
    file.write(broken);
    file.close();

    createWindow();
    QVERIFY(m_controller->isSavingBlocked());
    auto *banner = m_window->findChild<QWidget *>(QStringLiteral("profileBanner"));
    QVERIFY(banner->isVisible());
    m_controller->setMapping(echoMapping(unusedLoopbackPort()));
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(file.readAll(), broken);
    file.close();

    // Only the user's explicit choice starts a new profile, and the old file is kept aside.
    QTest::mouseClick(m_window->findChild<QPushButton *>(QStringLiteral("startNewProfileButton")),
                      Qt::LeftButton);
    QVERIFY(!banner->isVisible());
    QString error;
    QVERIFY(ProfileStore::read(path, &error));
    const QStringList aside =
        QDir(m_dir->path()).entryList({QStringLiteral("profile.json.unreadable-*")});
    QCOMPARE(aside.size(), 1);
}

void TestMainWindow::followsGermanLocale()
{
    QTranslator german;
    QVERIFY(german.load(QLocale(QLocale::German, QLocale::Germany), QStringLiteral("wstunnel"),
                        QStringLiteral("_"), QStringLiteral(":/i18n")));
    QVERIFY(QCoreApplication::installTranslator(&german));
    // A first run, so that the built-in remote is named in German too.
    QVERIFY(QFile::remove(m_controller->profilePath()));
    createWindow();
    QStringList menus;
    for (QAction *action : m_window->menuBar()->actions())
        menus.append(action->text());
    QCoreApplication::removeTranslator(&german);
    QVERIFY2(menus.contains(QStringLiteral("&Weiterleitungen")), qPrintable(menus.join(u',')));
    QCOMPARE(m_controller->profile().remotes.first().name, QStringLiteral("Dieser Computer"));
}

void TestMainWindow::refusedTokenIsWordedInGerman()
{
    QTranslator german;
    QVERIFY(german.load(QLocale(QLocale::German, QLocale::Germany), QStringLiteral("wstunnel"),
                        QStringLiteral("_"), QStringLiteral(":/i18n")));
    QVERIFY(QCoreApplication::installTranslator(&german));
    const auto removeTranslator =
        qScopeGuard([&german] { QCoreApplication::removeTranslator(&german); });

    TokenStore tokens;
    tokens.add("the-right-token");
    AllowList allowList;
    allowList.addLoopbackDefaults();
    TunnelServer server(ServerSettings(), tokens, allowList);
    QString error;
    QVERIFY2(server.listen(&error), qPrintable(error));

    RemoteConfig remote;
    remote.id = Profile::newId();
    remote.name = QStringLiteral("Devbox");
    remote.url = QUrl(server.url());
    m_controller->setRemote(remote, QByteArray("a-wrong-token"));
    MappingConfig mapping = echoMapping(unusedLoopbackPort());
    mapping.remoteId = remote.id;
    m_controller->setMapping(mapping);
    m_window->selectMapping(mapping.id);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(mapping.id), MappingState::Error, 10000);

    // Core reports what happened, in English for the log; the window says it in German, with
    // advice about the app instead of command-line options.
    QCOMPARE(statsOf(mapping.id).error.kind, TunnelError::Kind::TokenRefused);
    QVERIFY(statsOf(mapping.id).reason.contains(QStringLiteral("refused the token")));
    const QString url = remote.url.toDisplayString();
    const QString expected =
        QStringLiteral("%1 hat das Token abgelehnt (HTTP 401): Bearbeiten Sie die Gegenstelle und "
                       "prüfen Sie ihr Token")
            .arg(url);
    // The refusal is final: the mapping's port closed, and the mapping says so.
    const QString onMapping =
        expected + QStringLiteral(". Ihr Port wurde geschlossen, damit Verbindungen sofort "
                                  "scheitern statt zu warten; er öffnet sich wieder, wenn die "
                                  "Gegenstelle bearbeitet oder die Weiterleitung wieder "
                                  "eingeschaltet wird");
    auto *status = m_window->findChild<QLabel *>(QStringLiteral("statusLabel"));
    QTRY_COMPARE(status->text(), QStringLiteral("%1: Fehler – %2").arg(mapping.name, onMapping));
    auto *table = m_window->findChild<QTableView *>(QStringLiteral("mappingView"));
    const QModelIndex stateCell = table->model()->index(0, MappingTableModel::StateColumn);
    QCOMPARE(stateCell.data().toString(), QStringLiteral("Fehler"));
    QCOMPARE(stateCell.data(Qt::ToolTipRole).toString(), onMapping);
    auto *remoteList = m_window->findChild<QListWidget *>(QStringLiteral("remoteList"));
    QCOMPARE(remoteList->item(1)->text(), remote.name);
    QTRY_COMPARE(remoteList->item(1)->toolTip(),
                 QStringLiteral("%1\nFehlgeschlagen\n%2").arg(url, expected));
    for (const QString &text : {status->text(), remoteList->item(1)->toolTip()}) {
        QVERIFY2(!text.contains(QLatin1String("refused")) &&
                     !text.contains(QLatin1String("--token-file")),
                 qPrintable(text));
    }
    QTRY_COMPARE(m_tray->state(), TrayController::TrayState::Error);
}

void TestMainWindow::startAtLoginWritesAutostartEntry()
{
    QString error;
    QVERIFY(Autostart::setEnabled(false, &error));
    createWindow();
    auto *action = m_window->findChild<QAction *>(QStringLiteral("startAtLoginAction"));
    QVERIFY(action);
    QVERIFY(!action->isChecked());
    action->trigger();
    QVERIFY(Autostart::isEnabled());
    QFile entry(Autostart::entryPath());
    QVERIFY(entry.open(QIODevice::ReadOnly));
    const QByteArray text = entry.readAll();
    QVERIFY(text.contains("[Desktop Entry]"));
    QVERIFY(text.contains("--minimized"));
    action->trigger();
    QVERIFY(!Autostart::isEnabled());
}

// A WebSocket that drops while a connection is open: the remote shows as reconnecting with the
// connection held, the mapping stays active, the tray shows no error, and once the remote is
// reachable again the same connection carries on.
void TestMainWindow::openHeldConnections(HeldConnections &scene, const QString &remoteName)
{
    scene.tokens.add("resume-token");
    scene.allowList.addLoopbackDefaults();
    scene.server = std::make_unique<TunnelServer>(ServerSettings(), scene.tokens, scene.allowList);
    QString error;
    QVERIFY2(scene.server->listen(&error), qPrintable(error));
    scene.relay = std::make_unique<CuttableRelay>(scene.server->serverPort());
    scene.remote.id = Profile::newId();
    scene.remote.name = remoteName;
    scene.remote.url = QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(scene.relay->port()));
    m_controller->setRemote(scene.remote, QByteArray("resume-token"));
    const quint16 port = unusedLoopbackPort();
    scene.mapping = echoMapping(port);
    scene.mapping.remoteId = scene.remote.id;
    m_controller->setMapping(scene.mapping);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(scene.mapping.id), MappingState::Listening, 10000);
    scene.client.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(scene.client.waitForConnected(5000));
    QCOMPARE(echoThrough(scene.client, "before the drop"), QByteArray("before the drop"));
    scene.idle.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(scene.idle.waitForConnected(5000));
    QCOMPARE(echoThrough(scene.idle, "idle"), QByteArray("idle"));
    QTRY_COMPARE(stateOf(scene.mapping.id), MappingState::Active);
}

RemoteStats TestMainWindow::remoteStats(const QString &remoteId) const
{
    const EngineSnapshot snapshot = m_controller->snapshot();
    const RemoteStats *stats = snapshot.remote(remoteId);
    return stats ? *stats : RemoteStats();
}

void TestMainWindow::checkRemoteListShowsTwoHeld(const RemoteConfig &remote)
{
    auto *remoteList = m_window->findChild<QListWidget *>(QStringLiteral("remoteList"));
    QListWidgetItem *remoteItem = remoteList->item(1);
    QCOMPARE(remoteItem->text(), remote.name);
    QTRY_VERIFY2(
        remoteItem->toolTip().contains(QStringLiteral("Reconnecting (2 connections held)")),
        qPrintable(remoteItem->toolTip()));
}

// A WebSocket that drops while a connection is open: the remote shows as reconnecting with the
// connection held, the mapping stays active, the tray shows no error, and once the remote is
// reachable again the same connection carries on.
void TestMainWindow::droppedWebSocketShowsReconnectingAndKeepsMappings()
{
    HeldConnections scene;
    openHeldConnections(scene, QStringLiteral("Behind a proxy"));
    if (QTest::currentTestFailed())
        return;
    const QString remoteId = scene.remote.id;

    scene.relay->goDown();
    QTRY_COMPARE_WITH_TIMEOUT(remoteStats(remoteId).state, RemoteState::Reconnecting, 10000);
    QCOMPARE(remoteStats(remoteId).heldConnections, 2);
    QVERIFY(!remoteStats(remoteId).error.isError());
    QCOMPARE(stateOf(scene.mapping.id), MappingState::Active);
    checkRemoteListShowsTwoHeld(scene.remote);
    if (QTest::currentTestFailed())
        return;
    QVERIFY(m_tray->state() != TrayController::TrayState::Error);
    QCOMPARE(scene.client.state(), QAbstractSocket::ConnectedState);
    QCOMPARE(scene.idle.state(), QAbstractSocket::ConnectedState);

    QVERIFY(scene.relay->restore());
    QTRY_COMPARE_WITH_TIMEOUT(remoteStats(remoteId).state, RemoteState::Connected, 20000);
    QCOMPARE(echoThrough(scene.client, "after the resume"), QByteArray("after the resume"));
    QCOMPARE(echoThrough(scene.idle, "idle after"), QByteArray("idle after"));
    QCOMPARE(stateOf(scene.mapping.id), MappingState::Active);
    QVERIFY(m_tray->state() != TrayController::TrayState::Error);
}

// The client has dialed again and its resume request is on its way, but the answer is slow to
// come: the remote still shows as reconnecting with its connection held, not as connecting.
void TestMainWindow::resumeHandshakeInFlightStillShowsReconnecting()
{
    HeldConnections scene;
    openHeldConnections(scene, QStringLiteral("Slow path"));
    if (QTest::currentTestFailed())
        return;
    const QString remoteId = scene.remote.id;

    scene.relay->stallAfterUpgrade();
    scene.relay->cut();
    // The client dialed again and sent its hello and its resume request, which wait in the relay.
    QTRY_VERIFY_WITH_TIMEOUT(scene.relay->heldMessages() >= 2, 10000);
    const qint64 sequence = m_controller->snapshot().sequence;
    QTRY_VERIFY(m_controller->snapshot().sequence >= sequence + 2);
    QCOMPARE(remoteStats(remoteId).state, RemoteState::Reconnecting);
    QCOMPARE(remoteStats(remoteId).heldConnections, 2);
    QCOMPARE(stateOf(scene.mapping.id), MappingState::Active);
    checkRemoteListShowsTwoHeld(scene.remote);
    if (QTest::currentTestFailed())
        return;

    scene.relay->release();
    QTRY_COMPARE_WITH_TIMEOUT(remoteStats(remoteId).state, RemoteState::Connected, 20000);
    QCOMPARE(echoThrough(scene.client, "after the resume"), QByteArray("after the resume"));
    QCOMPARE(echoThrough(scene.idle, "idle after"), QByteArray("idle after"));
}

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
