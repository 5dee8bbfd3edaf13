<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de_DE">
<context>
    <name>wstunnel::ActivityModel</name>
    <message>
        <source>Connected to the remote</source>
        <translation>Mit der Gegenstelle verbunden</translation>
    </message>
    <message>
        <source>Connection to the remote lost</source>
        <translation>Verbindung zur Gegenstelle verloren</translation>
    </message>
    <message>
        <source>Refused by the remote; its mappings stopped listening</source>
        <translation>Von der Gegenstelle abgelehnt; ihre Weiterleitungen lauschen nicht mehr</translation>
    </message>
    <message>
        <source>Connection opened</source>
        <translation>Verbindung geöffnet</translation>
    </message>
    <message>
        <source>to %1</source>
        <translation>zu %1</translation>
    </message>
    <message>
        <source>Connection closed</source>
        <translation>Verbindung geschlossen</translation>
    </message>
    <message>
        <source>%1 received, %2 sent</source>
        <translation>%1 empfangen, %2 gesendet</translation>
    </message>
    <message>
        <source>; %1</source>
        <translation>; %1</translation>
    </message>
    <message>
        <source>Connection failed</source>
        <translation>Verbindung fehlgeschlagen</translation>
    </message>
    <message>
        <source>to %1: %2</source>
        <translation>zu %1: %2</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>Zeit</translation>
    </message>
    <message>
        <source>Mapping</source>
        <translation>Weiterleitung</translation>
    </message>
    <message>
        <source>Event</source>
        <translation>Ereignis</translation>
    </message>
    <message>
        <source>Peer</source>
        <translation>Gegenüber</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>Details</translation>
    </message>
</context>
<context>
    <name>wstunnel::ActivityView</name>
    <message>
        <source>Filter by mapping, peer or reason</source>
        <translation>Nach Weiterleitung, Gegenüber oder Grund filtern</translation>
    </message>
    <message>
        <source>Filter the activity</source>
        <translation>Aktivität filtern</translation>
    </message>
    <message>
        <source>Activity</source>
        <translation>Aktivität</translation>
    </message>
    <message>
        <source>&amp;Copy</source>
        <translation>&amp;Kopieren</translation>
    </message>
    <message>
        <source>Copy Selected</source>
        <translation>Auswahl kopieren</translation>
    </message>
    <message>
        <source>Copies the selected events as text, one line each</source>
        <translation>Kopiert die ausgewählten Ereignisse als Text, eines pro Zeile</translation>
    </message>
</context>
<context>
    <name>wstunnel::AppController</name>
    <message>
        <source>Cannot rename %1</source>
        <translation>%1 kann nicht umbenannt werden</translation>
    </message>
</context>
<context>
    <name>wstunnel::Autostart</name>
    <message>
        <source>Cannot remove %1</source>
        <translation>%1 kann nicht entfernt werden</translation>
    </message>
    <message>
        <source>Cannot write %1: %2</source>
        <translation>%1 kann nicht geschrieben werden: %2</translation>
    </message>
</context>
<context>
    <name>wstunnel::ChannelTableModel</name>
    <message>
        <source>%1 in, %2 out</source>
        <translation>%1 ein, %2 aus</translation>
    </message>
    <message>
        <source>Client</source>
        <translation>Client</translation>
    </message>
    <message>
        <source>Target</source>
        <translation>Ziel</translation>
    </message>
    <message>
        <source>Age</source>
        <translation>Alter</translation>
    </message>
    <message>
        <source>Received</source>
        <translation>Empfangen</translation>
    </message>
    <message>
        <source>Sent</source>
        <translation>Gesendet</translation>
    </message>
    <message>
        <source>%1 on the remote</source>
        <translation>%1 bei der Gegenstelle</translation>
    </message>
    <message>
        <source>Datagrams dropped instead of queued: out, those that did not fit the flow&apos;s window or the tunnel; in, those the local socket could not take</source>
        <translation>Verworfene statt gepufferte Datagramme: aus – die nicht mehr in das Fenster des Flusses oder den Tunnel passten; ein – die der lokale Socket nicht annehmen konnte</translation>
    </message>
    <message>
        <source>Datagrams</source>
        <translation>Datagramme</translation>
    </message>
    <message>
        <source>Dropped</source>
        <translation>Verworfen</translation>
    </message>
    <message>
        <source>In</source>
        <translation>Ein</translation>
    </message>
    <message>
        <source>Out</source>
        <translation>Aus</translation>
    </message>
</context>
<context>
    <name>wstunnel::ErrorMessages</name>
    <message>
        <source>%1 refused the token (HTTP 401): edit the remote and check its token</source>
        <translation>%1 hat das Token abgelehnt (HTTP 401): Bearbeiten Sie die Gegenstelle und prüfen Sie ihr Token</translation>
    </message>
    <message>
        <source>%1 refused the connection (HTTP 403 Forbidden): a gateway in front of the remote may require a header, or the token is not allowed there; edit the remote to add the header under Extra headers</source>
        <translation>%1 hat die Verbindung abgelehnt (HTTP 403 Forbidden): Ein Gateway vor der Gegenstelle verlangt womöglich einen Header, oder das Token ist dort nicht erlaubt; tragen Sie den Header beim Bearbeiten der Gegenstelle unter „Zusätzliche Header“ ein</translation>
    </message>
    <message>
        <source>%1 has no tunnel at this path (HTTP 404): edit the remote and check the path of its URL</source>
        <translation>%1 hat unter diesem Pfad keinen Tunnel (HTTP 404): Bearbeiten Sie die Gegenstelle und prüfen Sie den Pfad ihrer URL</translation>
    </message>
    <message>
        <source>%1 answered with HTTP %2 instead of opening the tunnel</source>
        <translation>%1 antwortete mit HTTP %2, statt den Tunnel zu öffnen</translation>
    </message>
    <message>
        <source>the certificate of %1 is not trusted: %2 (SHA-256 fingerprint %3); %4</source>
        <translation>das Zertifikat von %1 ist nicht vertrauenswürdig: %2 (SHA-256-Fingerabdruck %3); %4</translation>
    </message>
    <message>
        <source>the public key of %1 does not match the remote&apos;s public key pin (its key is sha256/%2, certificate SHA-256 fingerprint %3): not connecting; if the server has a new key, edit the remote&apos;s pin</source>
        <translation>der öffentliche Schlüssel von %1 passt nicht zum Schlüssel-Pin der Gegenstelle (sein Schlüssel ist sha256/%2, SHA-256-Fingerabdruck des Zertifikats %3): keine Verbindung; hat der Server einen neuen Schlüssel, bearbeiten Sie den Pin der Gegenstelle</translation>
    </message>
    <message>
        <source>this Qt version cannot check the remote&apos;s public key pin: not connecting; edit the remote and clear the pin</source>
        <translation>diese Qt-Version kann den Schlüssel-Pin der Gegenstelle nicht prüfen: keine Verbindung; bearbeiten Sie die Gegenstelle und leeren Sie den Pin</translation>
    </message>
    <message>
        <source>%1 requires a client certificate (server said: %2): edit the remote and choose a client certificate and key</source>
        <translation>%1 verlangt ein Client-Zertifikat (der Server meldete: %2): Bearbeiten Sie die Gegenstelle und wählen Sie ein Client-Zertifikat und einen Client-Schlüssel</translation>
    </message>
    <message>
        <source>%1 refused the client certificate %2 (server said: %3): it wants one issued by the CA it trusts for clients</source>
        <translation>%1 hat das Client-Zertifikat %2 abgelehnt (der Server meldete: %3): Er verlangt eines, das von der CA ausgestellt ist, der er für Clients vertraut</translation>
    </message>
    <message>
        <source>%1 ended the TLS handshake: %2</source>
        <translation>%1 hat den TLS-Handshake beendet: %2</translation>
    </message>
    <message>
        <source>the TLS handshake with %1 failed: %2; does it serve wss? For a plain server, use a ws:// URL</source>
        <translation>der TLS-Handshake mit %1 ist fehlgeschlagen: %2; bietet er wss an? Für einen Server ohne TLS verwenden Sie eine ws://-URL</translation>
    </message>
    <message>
        <source>%1 closed the connection during the TLS handshake; does it serve wss? For a plain server, use a ws:// URL</source>
        <translation>%1 hat die Verbindung während des TLS-Handshakes geschlossen; bietet er wss an? Für einen Server ohne TLS verwenden Sie eine ws://-URL</translation>
    </message>
    <message>
        <source>TLS cannot be set up: %1</source>
        <translation>TLS lässt sich nicht einrichten: %1</translation>
    </message>
    <message>
        <source>TLS cannot be set up: %1; check that the remote&apos;s client key belongs to its client certificate</source>
        <translation>TLS lässt sich nicht einrichten: %1; prüfen Sie, ob der Client-Schlüssel der Gegenstelle zu ihrem Client-Zertifikat gehört</translation>
    </message>
    <message>
        <source>a client certificate needs both the certificate and its key: edit the remote and choose both</source>
        <translation>ein Client-Zertifikat braucht das Zertifikat und seinen Schlüssel: Bearbeiten Sie die Gegenstelle und wählen Sie beide</translation>
    </message>
    <message>
        <source>the proxy %1 requires a user name and password (HTTP 407): edit the remote and give them in its proxy as http://USER:PASSWORD@HOST:PORT</source>
        <translation>der Proxy %1 verlangt Benutzername und Passwort (HTTP 407): Bearbeiten Sie die Gegenstelle und geben Sie beides in ihrem Proxy als http://BENUTZER:PASSWORT@HOST:PORT an</translation>
    </message>
    <message>
        <source>the proxy %1 rejected the credentials of the user &quot;%2&quot; (HTTP 407): edit the remote and check the user and password of its proxy</source>
        <translation>der Proxy %1 hat die Anmeldedaten des Benutzers „%2“ abgelehnt (HTTP 407): Bearbeiten Sie die Gegenstelle und prüfen Sie Benutzer und Passwort ihres Proxys</translation>
    </message>
    <message>
        <source>the proxy %1 refused to connect to %2 (HTTP 403): it does not allow connections to this host or port</source>
        <translation>der Proxy %1 hat die Verbindung zu %2 verweigert (HTTP 403): Er erlaubt keine Verbindungen zu diesem Host oder Port</translation>
    </message>
    <message>
        <source>the proxy %1 could not reach %2: %3</source>
        <translation>der Proxy %1 konnte %2 nicht erreichen: %3</translation>
    </message>
    <message>
        <source>cannot reach the proxy %1: %2; check the remote&apos;s proxy settings</source>
        <translation>der Proxy %1 ist nicht erreichbar: %2; prüfen Sie die Proxy-Einstellungen der Gegenstelle</translation>
    </message>
    <message>
        <source>problem with the proxy %1: %2</source>
        <translation>Problem mit dem Proxy %1: %2</translation>
    </message>
    <message>
        <source>%1 refused the connection: is the remote running?</source>
        <translation>%1 hat die Verbindung abgelehnt: Läuft die Gegenstelle?</translation>
    </message>
    <message>
        <source>cannot find the host of %1: %2</source>
        <translation>der Host von %1 wurde nicht gefunden: %2</translation>
    </message>
    <message>
        <source>cannot connect to %1: %2</source>
        <translation>keine Verbindung zu %1 möglich: %2</translation>
    </message>
    <message numerus="yes">
        <source>no answer from %1 within %n s</source>
        <translation>
            <numerusform>keine Antwort von %1 innerhalb von %n s</numerusform>
            <numerusform>keine Antwort von %1 innerhalb von %n s</numerusform>
        </translation>
    </message>
    <message>
        <source>the connection to %1 was lost: %2</source>
        <translation>die Verbindung zu %1 ist abgebrochen: %2</translation>
    </message>
    <message>
        <source>cannot listen on %1: another program uses this port; edit the mapping and choose another one</source>
        <translation>kann nicht auf %1 lauschen: Ein anderes Programm belegt diesen Port; bearbeiten Sie die Weiterleitung und wählen Sie einen anderen</translation>
    </message>
    <message>
        <source>cannot listen on %1: %2</source>
        <translation>kann nicht auf %1 lauschen: %2</translation>
    </message>
    <message>
        <source>the listen address %1 is not an IP address</source>
        <translation>die Adresse %1 zum Lauschen ist keine IP-Adresse</translation>
    </message>
    <message>
        <source>the remote refused: %1</source>
        <translation>die Gegenstelle lehnte ab: %1</translation>
    </message>
    <message>
        <source>the built-in remote did not start: %1</source>
        <translation>die eingebaute Gegenstelle ist nicht gestartet: %1</translation>
    </message>
    <message>
        <source>its remote no longer exists</source>
        <translation>ihre Gegenstelle existiert nicht mehr</translation>
    </message>
    <message>
        <source>the server&apos;s certificate must be renewed, or this computer&apos;s clock is wrong</source>
        <translation>das Zertifikat des Servers muss erneuert werden, oder die Uhr dieses Computers geht falsch</translation>
    </message>
    <message>
        <source>check this computer&apos;s clock</source>
        <translation>prüfen Sie die Uhr dieses Computers</translation>
    </message>
    <message>
        <source>use a host name the certificate lists in the remote&apos;s URL</source>
        <translation>verwenden Sie in der URL der Gegenstelle einen Hostnamen, den das Zertifikat nennt</translation>
    </message>
    <message>
        <source>choose the CA that issued it as the remote&apos;s CA file</source>
        <translation>wählen Sie die CA, die es ausgestellt hat, als CA-Datei der Gegenstelle</translation>
    </message>
    <message>
        <source>or check the fingerprint and choose &quot;Trust This Certificate…&quot;</source>
        <translation>oder prüfen Sie den Fingerabdruck und wählen Sie „Diesem Zertifikat vertrauen …“</translation>
    </message>
    <message>
        <source>cannot read the CA file %1: %2</source>
        <translation>die CA-Datei %1 ist nicht lesbar: %2</translation>
    </message>
    <message>
        <source>cannot read the client certificate %1: %2</source>
        <translation>das Client-Zertifikat %1 ist nicht lesbar: %2</translation>
    </message>
    <message>
        <source>cannot read the client key %1: %2</source>
        <translation>der Client-Schlüssel %1 ist nicht lesbar: %2</translation>
    </message>
    <message>
        <source>the CA file %1 holds no PEM certificate</source>
        <translation>die CA-Datei %1 enthält kein PEM-Zertifikat</translation>
    </message>
    <message>
        <source>the client certificate %1 holds no PEM certificate</source>
        <translation>das Client-Zertifikat %1 enthält kein PEM-Zertifikat</translation>
    </message>
    <message>
        <source>the client key %1 holds no unencrypted PEM private key (RSA, EC or DSA)</source>
        <translation>der Client-Schlüssel %1 enthält keinen unverschlüsselten privaten PEM-Schlüssel (RSA, EC oder DSA)</translation>
    </message>
    <message>
        <source>%1 is not a hub (it does not relay to agents)</source>
        <translation>%1 ist kein Hub (er vermittelt nicht an Agenten)</translation>
    </message>
    <message>
        <source>%1 refused to list its agents (HTTP 403): the hub may be older than this version, or the token is not a desktop&apos;s; type the agent&apos;s name instead</source>
        <translation>%1 hat es abgelehnt, seine Agenten aufzulisten (HTTP 403): Der Hub ist vielleicht älter als diese Version, oder das Token gehört keinem Desktop; geben Sie den Namen des Agenten selbst ein</translation>
    </message>
</context>
<context>
    <name>wstunnel::FileSecretStore</name>
    <message>
        <source>Cannot read %1: %2</source>
        <translation>%1 kann nicht gelesen werden: %2</translation>
    </message>
    <message>
        <source>Cannot create the folder %1</source>
        <translation>Der Ordner %1 kann nicht angelegt werden</translation>
    </message>
    <message>
        <source>Cannot write %1: %2</source>
        <translation>%1 kann nicht geschrieben werden: %2</translation>
    </message>
</context>
<context>
    <name>wstunnel::Formatting</name>
    <message>
        <source>0 B/s</source>
        <translation>0 B/s</translation>
    </message>
    <message>
        <source>%1/s</source>
        <translation>%1/s</translation>
    </message>
    <message numerus="yes">
        <source>%n s</source>
        <translation>
            <numerusform>%n s</numerusform>
            <numerusform>%n s</numerusform>
        </translation>
    </message>
    <message>
        <source>%1 min %2 s</source>
        <translation>%1 min %2 s</translation>
    </message>
    <message>
        <source>%1 h %2 min</source>
        <translation>%1 h %2 min</translation>
    </message>
    <message>
        <source>Off</source>
        <translation>Aus</translation>
    </message>
    <message>
        <source>Connecting</source>
        <translation>Verbindet</translation>
    </message>
    <message numerus="yes">
        <source>Reconnecting (%n connections held)</source>
        <translation>
            <numerusform>Verbindet erneut (%n Verbindung gehalten)</numerusform>
            <numerusform>Verbindet erneut (%n Verbindungen gehalten)</numerusform>
        </translation>
    </message>
    <message>
        <source>Listening</source>
        <translation>Lauscht</translation>
    </message>
    <message>
        <source>Active</source>
        <translation>Aktiv</translation>
    </message>
    <message>
        <source>Error</source>
        <translation>Fehler</translation>
    </message>
    <message>
        <source>Not in use</source>
        <translation>Nicht in Gebrauch</translation>
    </message>
    <message>
        <source>Connected</source>
        <translation>Verbunden</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Fehlgeschlagen</translation>
    </message>
    <message>
        <source>listening on the remote at %1</source>
        <translation>lauscht bei der Gegenstelle auf %1</translation>
    </message>
    <message>
        <source>waiting for the remote to listen on a free port of %1</source>
        <translation>wartet, bis die Gegenstelle auf einem freien Port von %1 lauscht</translation>
    </message>
    <message>
        <source>waiting for the remote to listen on %1</source>
        <translation>wartet, bis die Gegenstelle auf %1 lauscht</translation>
    </message>
    <message numerus="yes">
        <source>Bytes per second received through the tunnel, averaged over the last %n s</source>
        <translation>
            <numerusform>Bytes pro Sekunde, die durch den Tunnel ankommen, gemittelt über die letzte %n s</numerusform>
            <numerusform>Bytes pro Sekunde, die durch den Tunnel ankommen, gemittelt über die letzten %n s</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Bytes per second sent into the tunnel, averaged over the last %n s</source>
        <translation>
            <numerusform>Bytes pro Sekunde, die in den Tunnel gehen, gemittelt über die letzte %n s</numerusform>
            <numerusform>Bytes pro Sekunde, die in den Tunnel gehen, gemittelt über die letzten %n s</numerusform>
        </translation>
    </message>
    <message>
        <source>Connections fail</source>
        <translation>Verbindungen scheitern</translation>
    </message>
    <message>
        <source>%1. Its port was closed so that connections fail at once instead of waiting; it opens again when the remote is edited or the mapping switched on again</source>
        <translation>%1. Ihr Port wurde geschlossen, damit Verbindungen sofort scheitern statt zu warten; er öffnet sich wieder, wenn die Gegenstelle bearbeitet oder die Weiterleitung wieder eingeschaltet wird</translation>
    </message>
    <message numerus="yes">
        <source>%1. WSTunnel tries again every %n s</source>
        <translation>
            <numerusform>%1. WSTunnel versucht es jede Sekunde erneut</numerusform>
            <numerusform>%1. WSTunnel versucht es alle %n s erneut</numerusform>
        </translation>
    </message>
    <message>
        <source>the connection from %1 to %2 failed at %3: %4</source>
        <translation>die Verbindung von %1 zu %2 ist um %3 gescheitert: %4</translation>
    </message>
</context>
<context>
    <name>wstunnel::KeychainSecretStore</name>
    <message>
        <source>The keychain refused to read a token: %1</source>
        <translation>Der Schlüsselbund hat das Lesen eines Tokens verweigert: %1</translation>
    </message>
    <message>
        <source>The keychain refused to store a token: %1</source>
        <translation>Der Schlüsselbund hat das Speichern eines Tokens verweigert: %1</translation>
    </message>
    <message>
        <source>The keychain refused to delete a token: %1</source>
        <translation>Der Schlüsselbund hat das Löschen eines Tokens verweigert: %1</translation>
    </message>
</context>
<context>
    <name>wstunnel::MainWindow</name>
    <message>
        <source>WSTunnel</source>
        <translation>WSTunnel</translation>
    </message>
    <message>
        <source>Start a New Profile</source>
        <translation>Neues Profil beginnen</translation>
    </message>
    <message>
        <source>Keeps the unreadable file under a new name and saves from now on</source>
        <translation>Behält die unlesbare Datei unter neuem Namen und speichert ab jetzt</translation>
    </message>
    <message>
        <source>&amp;Add Mapping…</source>
        <translation>Weiterleitung &amp;hinzufügen …</translation>
    </message>
    <message>
        <source>&amp;Edit Mapping…</source>
        <translation>Weiterleitung &amp;bearbeiten …</translation>
    </message>
    <message>
        <source>D&amp;uplicate Mapping</source>
        <translation>Weiterleitung &amp;duplizieren</translation>
    </message>
    <message>
        <source>&amp;Delete Mapping</source>
        <translation>Weiterleitung &amp;löschen</translation>
    </message>
    <message>
        <source>Move &amp;Up</source>
        <translation>Nach &amp;oben</translation>
    </message>
    <message>
        <source>Move Do&amp;wn</source>
        <translation>Nach &amp;unten</translation>
    </message>
    <message>
        <source>Switch &amp;On/Off</source>
        <translation>&amp;Ein-/Ausschalten</translation>
    </message>
    <message>
        <source>&amp;Start All</source>
        <translation>Alle &amp;starten</translation>
    </message>
    <message>
        <source>S&amp;top All</source>
        <translation>Alle s&amp;toppen</translation>
    </message>
    <message>
        <source>Add &amp;Remote…</source>
        <translation>&amp;Gegenstelle hinzufügen …</translation>
    </message>
    <message>
        <source>Edit Re&amp;mote…</source>
        <translation>Gegenstelle be&amp;arbeiten …</translation>
    </message>
    <message>
        <source>Delete Rem&amp;ote</source>
        <translation>Gegenstelle lösc&amp;hen</translation>
    </message>
    <message>
        <source>&amp;Import Profile…</source>
        <translation>Profil &amp;importieren …</translation>
    </message>
    <message>
        <source>&amp;Export Profile…</source>
        <translation>Profil &amp;exportieren …</translation>
    </message>
    <message>
        <source>Start &amp;Minimised to the Tray</source>
        <translation>&amp;Minimiert im Infobereich starten</translation>
    </message>
    <message>
        <source>Start at &amp;Login</source>
        <translation>Bei der &amp;Anmeldung starten</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Beenden</translation>
    </message>
    <message>
        <source>&amp;About WSTunnel</source>
        <translation>&amp;Über WSTunnel</translation>
    </message>
    <message>
        <source>Import Profile</source>
        <translation>Profil importieren</translation>
    </message>
    <message>
        <source>WSTunnel profiles (*.json)</source>
        <translation>WSTunnel-Profile (*.json)</translation>
    </message>
    <message>
        <source>Export Profile</source>
        <translation>Profil exportieren</translation>
    </message>
    <message>
        <source>About WSTunnel</source>
        <translation>Über WSTunnel</translation>
    </message>
    <message>
        <source>&lt;h3&gt;WSTunnel %1&lt;/h3&gt;&lt;p&gt;TCP port mappings carried over one WebSocket, through HTTP proxies and firewalls.&lt;/p&gt;</source>
        <translation>&lt;h3&gt;WSTunnel %1&lt;/h3&gt;&lt;p&gt;TCP-Portweiterleitungen über eine einzige WebSocket-Verbindung, durch HTTP-Proxys und Firewalls hindurch.&lt;/p&gt;</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Datei</translation>
    </message>
    <message>
        <source>&amp;Mappings</source>
        <translation>&amp;Weiterleitungen</translation>
    </message>
    <message>
        <source>&amp;Remotes</source>
        <translation>&amp;Gegenstellen</translation>
    </message>
    <message>
        <source>&amp;Settings</source>
        <translation>&amp;Einstellungen</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>&amp;Hilfe</translation>
    </message>
    <message>
        <source>&lt;b&gt;Remotes&lt;/b&gt;</source>
        <translation>&lt;b&gt;Gegenstellen&lt;/b&gt;</translation>
    </message>
    <message>
        <source>Remotes</source>
        <translation>Gegenstellen</translation>
    </message>
    <message>
        <source>&lt;b&gt;Mappings&lt;/b&gt;</source>
        <translation>&lt;b&gt;Weiterleitungen&lt;/b&gt;</translation>
    </message>
    <message>
        <source>Mappings</source>
        <translation>Weiterleitungen</translation>
    </message>
    <message>
        <source>Open connections</source>
        <translation>Offene Verbindungen</translation>
    </message>
    <message>
        <source>&amp;Close Connection</source>
        <translation>Verbindung &amp;schließen</translation>
    </message>
    <message>
        <source>Resets the selected connection at both ends</source>
        <translation>Setzt die ausgewählte Verbindung an beiden Enden zurück</translation>
    </message>
    <message>
        <source>%1 (copy)</source>
        <translation>%1 (Kopie)</translation>
    </message>
    <message>
        <source>Delete Remote</source>
        <translation>Gegenstelle löschen</translation>
    </message>
    <message>
        <source>Delete the remote &quot;%1&quot;?</source>
        <translation>Die Gegenstelle „%1“ löschen?</translation>
    </message>
    <message numerus="yes">
        <source>Delete the remote &quot;%1&quot; and its %n mapping(s)?</source>
        <translation>
            <numerusform>Die Gegenstelle „%1“ und ihre %n Weiterleitung löschen?</numerusform>
            <numerusform>Die Gegenstelle „%1“ und ihre %n Weiterleitungen löschen?</numerusform>
        </translation>
    </message>
    <message>
        <source>The profile was not imported. %1</source>
        <translation>Das Profil wurde nicht importiert. %1</translation>
    </message>
    <message>
        <source>Imported %1</source>
        <translation>%1 importiert</translation>
    </message>
    <message>
        <source>Exported to %1 (tokens are not included)</source>
        <translation>Nach %1 exportiert (ohne Tokens)</translation>
    </message>
    <message>
        <source>WSTunnel keeps running</source>
        <translation>WSTunnel läuft weiter</translation>
    </message>
    <message>
        <source>Your mappings stay active. Open the window or quit from the tray icon&apos;s menu.</source>
        <translation>Ihre Weiterleitungen bleiben aktiv. Über das Menü des Symbols im Infobereich öffnen Sie das Fenster wieder oder beenden WSTunnel.</translation>
    </message>
    <message>
        <source>Runs inside WSTunnel on loopback</source>
        <translation>Läuft in WSTunnel, nur auf Loopback</translation>
    </message>
    <message>
        <source>%1
%2</source>
        <translation>%1
%2</translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <source> – %1</source>
        <translation> – %1</translation>
    </message>
    <message>
        <source>Mappings switched on: %1 of %2</source>
        <translation>Eingeschaltete Weiterleitungen: %1 von %2</translation>
    </message>
    <message>
        <source>&lt;b&gt;Connections&lt;/b&gt; – select a mapping</source>
        <translation>&lt;b&gt;Verbindungen&lt;/b&gt; – wählen Sie eine Weiterleitung</translation>
    </message>
    <message>
        <source>&lt;b&gt;Connections of %1&lt;/b&gt; (%2)</source>
        <translation>&lt;b&gt;Verbindungen von %1&lt;/b&gt; (%2)</translation>
    </message>
    <message>
        <source>Connection from %1</source>
        <translation>Verbindung von %1</translation>
    </message>
    <message>
        <source>Connection</source>
        <translation>Verbindung</translation>
    </message>
    <message>
        <source>All connections of %1</source>
        <translation>Alle Verbindungen von %1</translation>
    </message>
    <message>
        <source>No mappings yet. Choose &lt;b&gt;Add Mapping&lt;/b&gt; (Ctrl+N) and pick the remote &lt;b&gt;This computer&lt;/b&gt; to try one right away, without any server: for example listen on 18080 and target a web server running here on localhost:8080.</source>
        <translation>Noch keine Weiterleitungen. Wählen Sie &lt;b&gt;Weiterleitung hinzufügen&lt;/b&gt; (Strg+N) und die Gegenstelle &lt;b&gt;Dieser Computer&lt;/b&gt;, um es gleich ohne Server auszuprobieren: zum Beispiel auf 18080 lauschen und einen hier laufenden Webserver auf localhost:8080 als Ziel angeben.</translation>
    </message>
    <message>
        <source>&amp;Trust This Certificate…</source>
        <translation>Diesem &amp;Zertifikat vertrauen …</translation>
    </message>
    <message>
        <source>Shows the certificate the remote was refused for and asks whether to trust it</source>
        <translation>Zeigt das Zertifikat, wegen dessen die Gegenstelle abgelehnt wurde, und fragt, ob ihm vertraut werden soll</translation>
    </message>
    <message>
        <source>Trust This Certificate</source>
        <translation>Diesem Zertifikat vertrauen</translation>
    </message>
    <message>
        <source>&lt;p&gt;The certificate of the remote &quot;%1&quot; could not be verified.&lt;/p&gt;&lt;p&gt;Remote: %2&lt;br&gt;Problem: %3&lt;/p&gt;&lt;p&gt;SHA-256 fingerprint:&lt;br&gt;&lt;tt&gt;%4&lt;/tt&gt;&lt;/p&gt;&lt;p&gt;Trust this certificate only if its fingerprint is the one the server&apos;s administrator gave you. WSTunnel will then accept this certificate, and only this one, for this remote.&lt;/p&gt;</source>
        <translation>&lt;p&gt;Das Zertifikat der Gegenstelle „%1“ konnte nicht überprüft werden.&lt;/p&gt;&lt;p&gt;Gegenstelle: %2&lt;br&gt;Problem: %3&lt;/p&gt;&lt;p&gt;SHA-256-Fingerabdruck:&lt;br&gt;&lt;tt&gt;%4&lt;/tt&gt;&lt;/p&gt;&lt;p&gt;Vertrauen Sie diesem Zertifikat nur, wenn sein Fingerabdruck der ist, den Ihnen die Administration des Servers genannt hat. WSTunnel akzeptiert dann dieses Zertifikat, und nur dieses, für diese Gegenstelle.&lt;/p&gt;</translation>
    </message>
    <message>
        <source>&amp;Trust Certificate</source>
        <translation>Zertifikat &amp;vertrauen</translation>
    </message>
    <message>
        <source>Certificate not trusted: %1
SHA-256 fingerprint: %2
Choose &quot;Trust This Certificate…&quot; in the context menu after checking it.</source>
        <translation>Zertifikat nicht vertrauenswürdig: %1
SHA-256-Fingerabdruck: %2
Wählen Sie nach der Prüfung „Diesem Zertifikat vertrauen …“ im Kontextmenü.</translation>
    </message>
    <message>
        <source>Connection through %1 on the remote</source>
        <translation>Verbindung über %1 bei der Gegenstelle</translation>
    </message>
    <message>
        <source>&lt;b&gt;Flows of %1&lt;/b&gt; (%2, %3 datagrams dropped)</source>
        <translation>&lt;b&gt;Flüsse von %1&lt;/b&gt; (%2, %3 Datagramme verworfen)</translation>
    </message>
    <message>
        <source>No agent named %1 is connected to the hub; waiting</source>
        <translation>Kein Agent namens %1 ist mit dem Hub verbunden; warte</translation>
    </message>
    <message>
        <source>Agent %1 is served by %2</source>
        <translation>Agent %1 wird von %2 bedient</translation>
    </message>
    <message>
        <source>Connections</source>
        <translation>Verbindungen</translation>
    </message>
    <message>
        <source>Activity</source>
        <translation>Aktivität</translation>
    </message>
    <message>
        <source>Import &amp;OpenSSH Forwards…</source>
        <translation>&amp;OpenSSH-Weiterleitungen importieren …</translation>
    </message>
    <message>
        <source>Adds the LocalForward and RemoteForward lines of an OpenSSH config file as mappings</source>
        <translation>Fügt die LocalForward- und RemoteForward-Zeilen einer OpenSSH-Konfigurationsdatei als Weiterleitungen hinzu</translation>
    </message>
    <message>
        <source>Copy as Command &amp;Line</source>
        <translation>Als &amp;Befehlszeile kopieren</translation>
    </message>
    <message>
        <source>Copies the wstunnel --headless command that runs this mapping without the app</source>
        <translation>Kopiert den Befehl wstunnel --headless, der diese Weiterleitung ohne die App betreibt</translation>
    </message>
    <message>
        <source>Import OpenSSH Forwards</source>
        <translation>OpenSSH-Weiterleitungen importieren</translation>
    </message>
    <message>
        <source>OpenSSH config (config *.conf);;All files (*)</source>
        <translation>OpenSSH-Konfiguration (config *.conf);;Alle Dateien (*)</translation>
    </message>
    <message>
        <source>Cannot read %1: %2</source>
        <translation>%1 kann nicht gelesen werden: %2</translation>
    </message>
    <message>
        <source>Add a remote first: the imported mappings need one.</source>
        <translation>Legen Sie zuerst eine Gegenstelle an: Die importierten Weiterleitungen brauchen eine.</translation>
    </message>
    <message>
        <source>%1 %2</source>
        <translation>%1 %2</translation>
    </message>
    <message>
        <source>a SOCKS proxy on the remote side is not supported</source>
        <translation>ein SOCKS-Proxy auf der Gegenseite wird nicht unterstützt</translation>
    </message>
    <message>
        <source>WSTunnel forwards TCP ports, not Unix sockets</source>
        <translation>WSTunnel leitet TCP-Ports weiter, keine Unix-Sockets</translation>
    </message>
    <message>
        <source>not [BIND:]PORT HOST:PORT</source>
        <translation>nicht in der Form [BIND:]PORT HOST:PORT</translation>
    </message>
    <message>
        <source>line %1 (%2): %3</source>
        <translation>Zeile %1 (%2): %3</translation>
    </message>
    <message>
        <source>%1 has no LocalForward, RemoteForward or DynamicForward lines.</source>
        <translation>%1 enthält keine LocalForward-, RemoteForward- oder DynamicForward-Zeilen.</translation>
    </message>
    <message>
        <source>Nothing was imported from %1: %2</source>
        <translation>Aus %1 wurde nichts importiert: %2</translation>
    </message>
    <message>
        <source>; </source>
        <translation>; </translation>
    </message>
    <message numerus="yes">
        <source>Imported %n mapping(s) into the remote &quot;%1&quot;, switched off</source>
        <translation>
            <numerusform>%n Weiterleitung in die Gegenstelle „%1“ importiert, ausgeschaltet</numerusform>
            <numerusform>%n Weiterleitungen in die Gegenstelle „%1“ importiert, ausgeschaltet</numerusform>
        </translation>
    </message>
    <message>
        <source>; skipped %1</source>
        <translation>; übersprungen: %1</translation>
    </message>
    <message>
        <source>The built-in remote only runs inside WSTunnel: a mapping on it has no command line</source>
        <translation>Die eingebaute Gegenstelle läuft nur in WSTunnel: Eine Weiterleitung über sie hat keine Befehlszeile</translation>
    </message>
    <message>
        <source>Copied. The token is not in it: the command reads it from %1; or set WSTUNNEL_TOKEN and drop --token-file</source>
        <translation>Kopiert. Das Token steht nicht darin: Der Befehl liest es aus %1; oder setzen Sie WSTUNNEL_TOKEN und lassen --token-file weg</translation>
    </message>
    <message numerus="yes">
        <source>In %1, out %2 (averaged over the last %n s)</source>
        <translation>
            <numerusform>Ein %1, aus %2 (gemittelt über die letzte %n s)</numerusform>
            <numerusform>Ein %1, aus %2 (gemittelt über die letzten %n s)</numerusform>
        </translation>
    </message>
    <message>
        <source>Add</source>
        <translation>Hinzufügen</translation>
    </message>
    <message>
        <source>Edit</source>
        <translation>Bearbeiten</translation>
    </message>
    <message>
        <source>Duplicate</source>
        <translation>Duplizieren</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>Löschen</translation>
    </message>
    <message>
        <source>Start All</source>
        <translation>Alle starten</translation>
    </message>
    <message>
        <source>Stop All</source>
        <translation>Alle stoppen</translation>
    </message>
    <message>
        <source>%1. Your changes are not saved until you decide what to do with that file.</source>
        <translation>%1. Ihre Änderungen werden erst gespeichert, wenn Sie entschieden haben, was mit dieser Datei geschehen soll.</translation>
    </message>
</context>
<context>
    <name>wstunnel::MappingDialog</name>
    <message>
        <source>&amp;Switch on when saved</source>
        <translation>Beim Speichern &amp;einschalten</translation>
    </message>
    <message>
        <source>Add Mapping</source>
        <translation>Weiterleitung hinzufügen</translation>
    </message>
    <message>
        <source>Edit Mapping</source>
        <translation>Weiterleitung bearbeiten</translation>
    </message>
    <message>
        <source>e.g. PostgreSQL on the dev server</source>
        <translation>z. B. PostgreSQL auf dem Entwicklungsserver</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>Remote</source>
        <translation>Gegenstelle</translation>
    </message>
    <message>
        <source>Direction</source>
        <translation>Richtung</translation>
    </message>
    <message>
        <source>Local: a port here reaches a target on the remote side</source>
        <translation>Lokal: ein Port hier erreicht ein Ziel bei der Gegenstelle</translation>
    </message>
    <message>
        <source>Reverse: a port on the remote reaches a target here</source>
        <translation>Umgekehrt: ein Port bei der Gegenstelle erreicht ein Ziel hier</translation>
    </message>
    <message>
        <source>Protocol</source>
        <translation>Protokoll</translation>
    </message>
    <message>
        <source>TCP</source>
        <translation>TCP</translation>
    </message>
    <message>
        <source>UDP</source>
        <translation>UDP</translation>
    </message>
    <message>
        <source>Listen on</source>
        <translation>Lauschen auf</translation>
    </message>
    <message>
        <source>[ADDRESS:]PORT, e.g. 15432 or 127.0.0.1:15432</source>
        <translation>[ADRESSE:]PORT, z. B. 15432 oder 127.0.0.1:15432</translation>
    </message>
    <message>
        <source>Target</source>
        <translation>Ziel</translation>
    </message>
    <message>
        <source>HOST:PORT as seen from the remote, e.g. db.internal:5432</source>
        <translation>HOST:PORT aus Sicht der Gegenstelle, z. B. db.internal:5432</translation>
    </message>
    <message>
        <source>Problem</source>
        <translation>Problem</translation>
    </message>
    <message>
        <source>&amp;Name:</source>
        <translation>&amp;Name:</translation>
    </message>
    <message>
        <source>&amp;Remote:</source>
        <translation>&amp;Gegenstelle:</translation>
    </message>
    <message>
        <source>&amp;Direction:</source>
        <translation>&amp;Richtung:</translation>
    </message>
    <message>
        <source>&amp;Protocol:</source>
        <translation>&amp;Protokoll:</translation>
    </message>
    <message>
        <source>&amp;Listen on:</source>
        <translation>&amp;Lauschen auf:</translation>
    </message>
    <message>
        <source>&amp;Target:</source>
        <translation>&amp;Ziel:</translation>
    </message>
    <message>
        <source>Use port %1</source>
        <translation>Port %1 verwenden</translation>
    </message>
    <message>
        <source>Give the mapping a name.</source>
        <translation>Geben Sie der Weiterleitung einen Namen.</translation>
    </message>
    <message>
        <source>Add a remote first: the mapping needs one to carry its connections.</source>
        <translation>Legen Sie zuerst eine Gegenstelle an: Die Weiterleitung braucht eine, die ihre Verbindungen trägt.</translation>
    </message>
    <message>
        <source>Enter the port to listen on.</source>
        <translation>Geben Sie den Port an, auf dem gelauscht werden soll.</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is not a port to listen on: write PORT or ADDRESS:PORT with a port from 1 to 65535.</source>
        <translation>„%1“ ist kein Port zum Lauschen: Schreiben Sie PORT oder ADRESSE:PORT mit einem Port von 1 bis 65535.</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is not an IP address of this computer (e.g. 127.0.0.1, ::1 or 0.0.0.0).</source>
        <translation>„%1“ ist keine IP-Adresse dieses Computers (z. B. 127.0.0.1, ::1 oder 0.0.0.0).</translation>
    </message>
    <message>
        <source>Enter the target as HOST:PORT.</source>
        <translation>Geben Sie das Ziel als HOST:PORT an.</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is not a target: write HOST:PORT with a port from 1 to 65535.</source>
        <translation>„%1“ ist kein Ziel: Schreiben Sie HOST:PORT mit einem Port von 1 bis 65535.</translation>
    </message>
    <message>
        <source>The mapping &quot;%1&quot; already listens on %2.</source>
        <translation>Die Weiterleitung „%1“ lauscht bereits auf %2.</translation>
    </message>
    <message>
        <source>Port %1 is already in use on this computer.</source>
        <translation>Port %1 wird auf diesem Computer bereits verwendet.</translation>
    </message>
    <message>
        <source>[ADDRESS:]PORT on the remote, e.g. 9000 or 127.0.0.1:9000; 0 lets the remote pick a free port</source>
        <translation>[ADRESSE:]PORT bei der Gegenstelle, z. B. 9000 oder 127.0.0.1:9000; bei 0 wählt die Gegenstelle einen freien Port</translation>
    </message>
    <message>
        <source>HOST:PORT as seen from this computer, e.g. 127.0.0.1:8080</source>
        <translation>HOST:PORT aus Sicht dieses Computers, z. B. 127.0.0.1:8080</translation>
    </message>
    <message>
        <source>Enter the port the remote listens on (0 lets it pick a free one).</source>
        <translation>Geben Sie den Port an, auf dem die Gegenstelle lauschen soll (bei 0 wählt sie einen freien).</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is not a port for the remote to listen on: write PORT or ADDRESS:PORT with a port from 0 to 65535.</source>
        <translation>„%1“ ist kein Port, auf dem die Gegenstelle lauschen kann: Schreiben Sie PORT oder ADRESSE:PORT mit einem Port von 0 bis 65535.</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is not an IP address for the remote to listen on (e.g. 127.0.0.1 or ::1).</source>
        <translation>„%1“ ist keine IP-Adresse, auf der die Gegenstelle lauschen kann (z. B. 127.0.0.1 oder ::1).</translation>
    </message>
    <message>
        <source>UDP port %1 is already in use on this computer.</source>
        <translation>UDP-Port %1 wird auf diesem Computer bereits verwendet.</translation>
    </message>
    <message>
        <source>Dynamic (SOCKS): a port here reaches any target the remote allows</source>
        <translation>Dynamisch (SOCKS): ein Port hier erreicht jedes Ziel, das die Gegenstelle erlaubt</translation>
    </message>
    <message>
        <source>[ADDRESS:]PORT, e.g. 1080 or 127.0.0.1:1080</source>
        <translation>[ADRESSE:]PORT, z. B. 1080 oder 127.0.0.1:1080</translation>
    </message>
    <message>
        <source>named by each SOCKS client</source>
        <translation>nennt jeder SOCKS-Client selbst</translation>
    </message>
</context>
<context>
    <name>wstunnel::MappingTableModel</name>
    <message>
        <source>On: click to switch this mapping off</source>
        <translation>Ein: Klicken schaltet diese Weiterleitung aus</translation>
    </message>
    <message>
        <source>Off: click to switch this mapping on</source>
        <translation>Aus: Klicken schaltet diese Weiterleitung ein</translation>
    </message>
    <message>
        <source>On</source>
        <translation>Ein</translation>
    </message>
    <message>
        <source>Off</source>
        <translation>Aus</translation>
    </message>
    <message>
        <source>Local</source>
        <translation>Lokal</translation>
    </message>
    <message>
        <source>Reverse</source>
        <translation>Umgekehrt</translation>
    </message>
    <message>
        <source>TCP</source>
        <translation>TCP</translation>
    </message>
    <message>
        <source>UDP</source>
        <translation>UDP</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>Direction</source>
        <translation>Richtung</translation>
    </message>
    <message>
        <source>Protocol</source>
        <translation>Protokoll</translation>
    </message>
    <message>
        <source>Listen on</source>
        <translation>Lauschen auf</translation>
    </message>
    <message>
        <source>Target</source>
        <translation>Ziel</translation>
    </message>
    <message>
        <source>Remote</source>
        <translation>Gegenstelle</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Zustand</translation>
    </message>
    <message>
        <source>In</source>
        <translation>Eingang</translation>
    </message>
    <message>
        <source>Out</source>
        <translation>Ausgang</translation>
    </message>
    <message>
        <source>Connections</source>
        <translation>Verbindungen</translation>
    </message>
    <message>
        <source>The remote listens on this address</source>
        <translation>Die Gegenstelle lauscht auf dieser Adresse</translation>
    </message>
    <message>
        <source>%1 / %2</source>
        <translation>%1 / %2</translation>
    </message>
    <message>
        <source>Bytes received / sent since the mapping started</source>
        <translation>Empfangene / gesendete Bytes, seit die Weiterleitung läuft</translation>
    </message>
    <message>
        <source>Total</source>
        <translation>Gesamt</translation>
    </message>
    <message>
        <source>Dynamic (SOCKS)</source>
        <translation>Dynamisch (SOCKS)</translation>
    </message>
</context>
<context>
    <name>wstunnel::Profile</name>
    <message>
        <source>This computer</source>
        <translation>Dieser Computer</translation>
    </message>
</context>
<context>
    <name>wstunnel::ProfileStore</name>
    <message>
        <source>Cannot read %1: %2</source>
        <translation>%1 kann nicht gelesen werden: %2</translation>
    </message>
    <message>
        <source>%1 is not a usable profile: %2</source>
        <translation>%1 ist kein verwendbares Profil: %2</translation>
    </message>
    <message>
        <source>Cannot create the folder %1</source>
        <translation>Der Ordner %1 kann nicht angelegt werden</translation>
    </message>
    <message>
        <source>Cannot write %1: %2</source>
        <translation>%1 kann nicht geschrieben werden: %2</translation>
    </message>
    <message>
        <source>invalid JSON at offset %1 (%2)</source>
        <translation>ungültiges JSON an Position %1 (%2)</translation>
    </message>
    <message>
        <source>the file is not a WSTunnel profile</source>
        <translation>die Datei ist kein WSTunnel-Profil</translation>
    </message>
    <message>
        <source>it was written by a newer WSTunnel (profile version %1, this version reads up to %2)</source>
        <translation>es wurde von einem neueren WSTunnel geschrieben (Profilversion %1, diese Version liest bis %2)</translation>
    </message>
    <message>
        <source>it has no valid version number</source>
        <translation>es hat keine gültige Versionsnummer</translation>
    </message>
    <message>
        <source>remote %1 has a missing or duplicate id</source>
        <translation>Gegenstelle %1 hat eine fehlende oder doppelte Kennung</translation>
    </message>
    <message>
        <source>remote &quot;%1&quot; has no ws:// or wss:// URL</source>
        <translation>Gegenstelle „%1“ hat keine ws://- oder wss://-URL</translation>
    </message>
    <message>
        <source>remote &quot;%1&quot; has an invalid proxy URL</source>
        <translation>Gegenstelle „%1“ hat eine ungültige Proxy-URL</translation>
    </message>
    <message>
        <source>remote &quot;%1&quot; has an unknown proxy mode &quot;%2&quot;</source>
        <translation>Gegenstelle „%1“ hat eine unbekannte Proxy-Art „%2“</translation>
    </message>
    <message>
        <source>mapping %1 has a missing or duplicate id</source>
        <translation>Weiterleitung %1 hat eine fehlende oder doppelte Kennung</translation>
    </message>
    <message>
        <source>mapping &quot;%1&quot; refers to an unknown remote</source>
        <translation>Weiterleitung „%1“ verweist auf eine unbekannte Gegenstelle</translation>
    </message>
    <message>
        <source>mapping &quot;%1&quot; has an unknown direction</source>
        <translation>Weiterleitung „%1“ hat eine unbekannte Richtung</translation>
    </message>
    <message>
        <source>mapping &quot;%1&quot; has an unknown protocol</source>
        <translation>Weiterleitung „%1“ hat ein unbekanntes Protokoll</translation>
    </message>
    <message>
        <source>mapping &quot;%1&quot; has an invalid address or port</source>
        <translation>Weiterleitung „%1“ hat eine ungültige Adresse oder einen ungültigen Port</translation>
    </message>
    <message>
        <source>remote &quot;%1&quot; names the agent &quot;%2&quot;, which is no agent name</source>
        <translation>Gegenstelle „%1“ nennt den Agenten „%2“, das ist kein Agentenname</translation>
    </message>
</context>
<context>
    <name>wstunnel::RemoteDialog</name>
    <message>
        <source>TLS</source>
        <translation>TLS</translation>
    </message>
    <message>
        <source>Proxy</source>
        <translation>Proxy</translation>
    </message>
    <message>
        <source>Add Remote</source>
        <translation>Gegenstelle hinzufügen</translation>
    </message>
    <message>
        <source>Edit Remote</source>
        <translation>Gegenstelle bearbeiten</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>URL</source>
        <translation>URL</translation>
    </message>
    <message>
        <source>wss://devbox.example.com/tunnel</source>
        <translation>wss://devbox.example.com/tunnel</translation>
    </message>
    <message>
        <source>Token</source>
        <translation>Token</translation>
    </message>
    <message>
        <source>kept in the keychain, not in the profile</source>
        <translation>wird im Schlüsselbund gespeichert, nicht im Profil</translation>
    </message>
    <message>
        <source>Certificate authorities (PEM)</source>
        <translation>Zertifizierungsstellen (PEM)</translation>
    </message>
    <message>
        <source>Client certificate (PEM)</source>
        <translation>Client-Zertifikat (PEM)</translation>
    </message>
    <message>
        <source>Client key (PEM)</source>
        <translation>Client-Schlüssel (PEM)</translation>
    </message>
    <message>
        <source>Public key pin</source>
        <translation>Pin des öffentlichen Schlüssels</translation>
    </message>
    <message>
        <source>base64 SHA-256 of the server&apos;s public key (optional)</source>
        <translation>Base64-SHA-256 des öffentlichen Schlüssels des Servers (optional)</translation>
    </message>
    <message>
        <source>Trusted certificate fingerprint</source>
        <translation>Fingerabdruck eines vertrauenswürdigen Zertifikats</translation>
    </message>
    <message>
        <source>hex SHA-256 of a certificate you accept (optional)</source>
        <translation>Hex-SHA-256 eines Zertifikats, das Sie akzeptieren (optional)</translation>
    </message>
    <message>
        <source>&amp;CA file:</source>
        <translation>&amp;CA-Datei:</translation>
    </message>
    <message>
        <source>Public key &amp;pin:</source>
        <translation>&amp;Schlüssel-Pin:</translation>
    </message>
    <message>
        <source>Trusted &amp;fingerprint:</source>
        <translation>Vertrauenswürdiger &amp;Fingerabdruck:</translation>
    </message>
    <message>
        <source>Client c&amp;ertificate:</source>
        <translation>Client-Z&amp;ertifikat:</translation>
    </message>
    <message>
        <source>Client &amp;key:</source>
        <translation>Client-Schlüsse&amp;l:</translation>
    </message>
    <message>
        <source>Proxy mode</source>
        <translation>Proxy-Art</translation>
    </message>
    <message>
        <source>System settings</source>
        <translation>Systemeinstellungen</translation>
    </message>
    <message>
        <source>No proxy</source>
        <translation>Kein Proxy</translation>
    </message>
    <message>
        <source>This proxy:</source>
        <translation>Dieser Proxy:</translation>
    </message>
    <message>
        <source>Proxy URL</source>
        <translation>Proxy-URL</translation>
    </message>
    <message>
        <source>http://[USER:PASSWORD@]HOST:PORT</source>
        <translation>http://[BENUTZER:PASSWORT@]HOST:PORT</translation>
    </message>
    <message>
        <source>Extra headers</source>
        <translation>Zusätzliche Header</translation>
    </message>
    <message>
        <source>Name: value, one per line (optional)</source>
        <translation>Name: Wert, einer pro Zeile (optional)</translation>
    </message>
    <message>
        <source>&amp;Name:</source>
        <translation>&amp;Name:</translation>
    </message>
    <message>
        <source>This remote runs inside WSTunnel on this computer, on loopback only. It needs no URL or token.</source>
        <translation>Diese Gegenstelle läuft in WSTunnel auf diesem Computer, nur auf Loopback. Sie braucht weder URL noch Token.</translation>
    </message>
    <message>
        <source>&amp;URL:</source>
        <translation>&amp;URL:</translation>
    </message>
    <message>
        <source>&amp;Token:</source>
        <translation>&amp;Token:</translation>
    </message>
    <message>
        <source>Extra &amp;headers:</source>
        <translation>Zusätzliche &amp;Header:</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>Durchsuchen …</translation>
    </message>
    <message>
        <source>Browse for %1</source>
        <translation>%1 suchen</translation>
    </message>
    <message>
        <source>PEM files (*.pem *.crt *.key);;All files (*)</source>
        <translation>PEM-Dateien (*.pem *.crt *.key);;Alle Dateien (*)</translation>
    </message>
    <message>
        <source>Give the remote a name.</source>
        <translation>Geben Sie der Gegenstelle einen Namen.</translation>
    </message>
    <message>
        <source>The URL must start with ws:// or wss:// and name a host.</source>
        <translation>Die URL muss mit ws:// oder wss:// beginnen und einen Host nennen.</translation>
    </message>
    <message>
        <source>A client certificate needs its key, and a key its certificate.</source>
        <translation>Ein Client-Zertifikat braucht seinen Schlüssel und ein Schlüssel sein Zertifikat.</translation>
    </message>
    <message>
        <source>The public key pin must be a base64 SHA-256 digest (44 characters).</source>
        <translation>Der Schlüssel-Pin muss ein Base64-SHA-256-Hash sein (44 Zeichen).</translation>
    </message>
    <message>
        <source>The certificate fingerprint must be 64 hexadecimal digits (SHA-256).</source>
        <translation>Der Fingerabdruck muss aus 64 Hexadezimalziffern bestehen (SHA-256).</translation>
    </message>
    <message>
        <source>The proxy must be written http://HOST:PORT.</source>
        <translation>Der Proxy muss als http://HOST:PORT angegeben werden.</translation>
    </message>
    <message>
        <source>Header line &quot;%1&quot; is not &quot;Name: value&quot;.</source>
        <translation>Die Header-Zeile „%1“ hat nicht die Form „Name: Wert“.</translation>
    </message>
    <message>
        <source>Agent</source>
        <translation>Agent</translation>
    </message>
    <message>
        <source>when the URL is a hub: the agent to reach through it</source>
        <translation>wenn die URL ein Hub ist: der Agent, der über ihn erreicht wird</translation>
    </message>
    <message>
        <source>&amp;Agent:</source>
        <translation>&amp;Agent:</translation>
    </message>
    <message>
        <source>An agent name has up to %1 letters, digits, &apos;.&apos;, &apos;_&apos; and &apos;-&apos;.</source>
        <translation>Ein Agentenname besteht aus bis zu %1 Buchstaben, Ziffern, „.“, „_“ und „-“.</translation>
    </message>
    <message>
        <source>Te&amp;st Connection</source>
        <translation>&amp;Verbindung testen</translation>
    </message>
    <message>
        <source>Connects once with these settings and reports whether the remote is reachable, its TLS and the token are accepted, and who answered</source>
        <translation>Verbindet sich einmal mit diesen Einstellungen und meldet, ob die Gegenstelle erreichbar ist, ob TLS und Token angenommen werden und wer antwortet</translation>
    </message>
    <message>
        <source>Connecting to %1…</source>
        <translation>Verbinde mit %1 …</translation>
    </message>
    <message>
        <source>TLS accepted</source>
        <translation>TLS angenommen</translation>
    </message>
    <message>
        <source>no TLS (ws://)</source>
        <translation>ohne TLS (ws://)</translation>
    </message>
    <message>
        <source>Works: %1 reachable, %2, token accepted. The remote &quot;%3&quot; speaks protocol version %4.</source>
        <translation>Funktioniert: %1 erreichbar, %2, Token angenommen. Die Gegenstelle „%3“ spricht Protokollversion %4.</translation>
    </message>
    <message>
        <source>Reachable%1, but refused: %2</source>
        <translation>Erreichbar%1, aber abgelehnt: %2</translation>
    </message>
    <message>
        <source>, TLS accepted</source>
        <translation>, TLS angenommen</translation>
    </message>
    <message>
        <source>Reachable, but TLS failed: %1</source>
        <translation>Erreichbar, aber TLS gescheitert: %1</translation>
    </message>
    <message>
        <source>Not reachable: %1</source>
        <translation>Nicht erreichbar: %1</translation>
    </message>
    <message>
        <source>Find A&amp;gents</source>
        <translation>A&amp;genten suchen</translation>
    </message>
    <message>
        <source>Ask the hub which agents this token may reach</source>
        <translation>Den Hub fragen, welche Agenten dieses Token erreichen darf</translation>
    </message>
    <message>
        <source>Agents online</source>
        <translation>Verbundene Agenten</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Zustand</translation>
    </message>
    <message>
        <source>Served by</source>
        <translation>Bedient von</translation>
    </message>
    <message>
        <source>Connected for</source>
        <translation>Verbunden seit</translation>
    </message>
    <message>
        <source>Asking %1 for its agents…</source>
        <translation>%1 wird nach seinen Agenten gefragt …</translation>
    </message>
    <message>
        <source>standby</source>
        <translation>in Bereitschaft</translation>
    </message>
    <message>
        <source>active</source>
        <translation>aktiv</translation>
    </message>
    <message>
        <source>connected since %1</source>
        <translation>verbunden seit %1</translation>
    </message>
    <message numerus="yes">
        <source>active, %n on standby</source>
        <translation>
            <numerusform>aktiv, %n in Bereitschaft</numerusform>
            <numerusform>aktiv, %n in Bereitschaft</numerusform>
        </translation>
    </message>
    <message>
        <source>No agent that this token may reach is connected to the hub.</source>
        <translation>Kein Agent, den dieses Token erreichen darf, ist mit dem Hub verbunden.</translation>
    </message>
    <message>
        <source>Agents online: %1. Pick one to reach it.</source>
        <translation>Verbundene Agenten: %1. Wählen Sie einen aus, um ihn zu erreichen.</translation>
    </message>
</context>
<context>
    <name>wstunnel::Sparkline</name>
    <message>
        <source>Throughput of the last minute</source>
        <translation>Durchsatz der letzten Minute</translation>
    </message>
    <message>
        <source>In %1, out %2</source>
        <translation>Ein %1, aus %2</translation>
    </message>
    <message>
        <source>peak %1</source>
        <translation>Spitze %1</translation>
    </message>
    <message>
        <source>out %1</source>
        <translation>aus %1</translation>
    </message>
    <message>
        <source>in %1</source>
        <translation>ein %1</translation>
    </message>
</context>
<context>
    <name>wstunnel::TrayController</name>
    <message>
        <source>&amp;Open WSTunnel</source>
        <translation>WSTunnel ö&amp;ffnen</translation>
    </message>
    <message>
        <source>&amp;Start All Mappings</source>
        <translation>Alle Weiterleitungen &amp;starten</translation>
    </message>
    <message>
        <source>S&amp;top All Mappings</source>
        <translation>Alle Weiterleitungen s&amp;toppen</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Beenden</translation>
    </message>
    <message>
        <source>WSTunnel: stopped</source>
        <translation>WSTunnel: gestoppt</translation>
    </message>
    <message>
        <source>%1 (%2 → %3)</source>
        <translation>%1 (%2 → %3)</translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <source>WSTunnel: error
%1</source>
        <translation>WSTunnel: Fehler
%1</translation>
    </message>
    <message>
        <source>WSTunnel: mappings on: %1, connections: %2
in %3, out %4</source>
        <translation>WSTunnel: eingeschaltete Weiterleitungen: %1, Verbindungen: %2
ein %3, aus %4</translation>
    </message>
    <message>
        <source>%1 (remote %2 → %3)</source>
        <translation>%1 (Gegenstelle %2 → %3)</translation>
    </message>
</context>
</TS>
