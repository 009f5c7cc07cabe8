// The Kotlin binding tests (scripts/kotlin-test.sh): a Kotlin ProvTransport forwarding to an
// in-process SimulatedDevice, driven through the suspend API. They test the glue (types, errors,
// callbacks, cancellation); the protocol itself is tested in Rust.
package rainmaker.prov.tests

import java.util.Collections
import java.util.concurrent.atomic.AtomicInteger
import kotlin.system.exitProcess
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.withTimeout
import rainmaker.prov.CancelHandle
import rainmaker.prov.LogLevel
import rainmaker.prov.LogRecord
import rainmaker.prov.Logger
import rainmaker.prov.ProgressListener
import rainmaker.prov.ProvDevice
import rainmaker.prov.ProvOptions
import rainmaker.prov.core.ProvTransport
import rainmaker.prov.SimulatedDevice
import rainmaker.prov.SimulatedDeviceConfig
import rainmaker.prov.SimulatedNetwork
import rainmaker.prov.core.ProgressEvent
import rainmaker.prov.core.ProvException
import rainmaker.prov.core.ProvStep
import rainmaker.prov.core.QrTransport
import rainmaker.prov.core.SecurityLevel
import rainmaker.prov.core.ThreadStatus
import rainmaker.prov.core.TransportException
import rainmaker.prov.core.TransportKind
import rainmaker.prov.core.WifiConnectedInfo
import rainmaker.prov.core.WifiStatus
import rainmaker.prov.libraryVersion
import rainmaker.prov.parseQrCode
import rainmaker.prov.setLogger
import rainmaker.prov.setMaxLogLevel

const val HOME = "RefPeer-Home"
const val HOME_PASS = "secretpass"

/**
 * The app-side transport of these tests: forwards every exchange to a simulated device's
 * transport, counts them, and can be told to fail (throw) or hang on a given endpoint.
 */
class ForwardingTransport(
    private val device: SimulatedDevice,
    private val failOn: String? = null,
    private val failure: Exception = IllegalStateException("radio switched off"),
    private val hangOn: String? = null,
) : ProvTransport {
    private val target = device.transport()
    val exchanges = AtomicInteger()
    val hanging = CompletableDeferred<Unit>()

    override suspend fun send(endpoint: String, data: ByteArray): ByteArray {
        exchanges.incrementAndGet()
        if (endpoint == failOn) throw failure
        if (endpoint == hangOn) {
            hanging.complete(Unit)
            awaitCancellation()
        }
        return target.send(endpoint, data)
    }

    override fun maxPayload(): UInt = 0u
    override fun kind(): TransportKind = TransportKind.FOREIGN
    override suspend fun disconnect() = target.disconnect()
}

class RecordingListener : ProgressListener {
    val events: MutableList<ProgressEvent> = Collections.synchronizedList(mutableListOf())
    override fun onProgress(event: ProgressEvent) {
        events.add(event)
    }
}

fun sec1Device(pop: String = "abcd1234") =
    SimulatedDevice(SimulatedDeviceConfig(security = SecurityLevel.SEC1, pop = pop, joinDelayMs = 50u))

fun sec2Device(username: String = "wifiprov", password: String = "abcd1234") =
    SimulatedDevice(
        SimulatedDeviceConfig(security = SecurityLevel.SEC2, pop = password, username = username, joinDelayMs = 50u),
    )

/** The SSID of the network a device joined (bytes on the wire), as text. */
val WifiConnectedInfo.ssidText: String get() = ssid.decodeToString()

fun options(pop: String?, min: SecurityLevel = SecurityLevel.SEC1, username: String? = null) =
    ProvOptions(minSecurity = min, pop = pop, sec2Username = username)

fun main() {
    val t = TestRunner()

    t.test("library version is the crate version") {
        check(libraryVersion().matches(Regex("""\d+\.\d+\.\d+.*"""))) { "version ${libraryVersion()}" }
    }

    t.test("QR codes parse, and a malformed one is InvalidInput") {
        val qr = parseQrCode("""{"ver":"v1","name":"PROV_1A2B3C","pop":"abcd1234","transport":"ble"}""")
        checkEquals("PROV_1A2B3C", qr.name, "name")
        checkEquals(QrTransport.BLE, qr.transport, "transport")
        checkEquals("abcd1234", qr.pop, "pop")
        check(!qr.toString().contains("abcd1234")) { "toString shows the PoP: $qr" }
        expectThrows<ProvException.InvalidInput>("bad QR") { parseQrCode("not a qr code") }
    }

    t.test("ProvOptions' toString hides the PoP and the SRP password") {
        val options = ProvOptions(minSecurity = SecurityLevel.SEC2, pop = "abcd1234", sec2Password = "pw-s3cret")
        val text = options.toString()
        check(!text.contains("abcd1234") && !text.contains("pw-s3cret")) { "toString shows a secret: $text" }
        check(text.contains("Sec2")) { "toString: $text" }
    }

    t.test("security 1: provision Wi-Fi end to end through a Kotlin transport, with progress") {
        val sim = sec1Device()
        val transport = ForwardingTransport(sim)
        val listener = RecordingListener()
        ProvDevice(transport, options("abcd1234")).use { device ->
            device.setProgressListener(listener)
            val session = device.connect()
            checkEquals(SecurityLevel.SEC1, session.security, "security")
            check(session.version.hasWifiScan()) { "capabilities ${session.version}" }
            val joined = device.provisionWifi(HOME, HOME_PASS)
            checkEquals(HOME, joined.ssidText, "joined ssid")
            check(joined.ip4Addr.isNotEmpty()) { "no IP address" }
            device.disconnect()
        }
        checkEquals(HOME, sim.connectedSsid(), "device's ssid")
        check(transport.exchanges.get() >= 5) { "only ${transport.exchanges.get()} exchanges" }
        val kinds = listener.events.map { it::class.simpleName }
        val expected = listOf("ReadingCapabilities", "SecurityChosen", "Handshaking", "SessionEstablished",
            "SendingCredentials", "Applying", "Connected")
        checkEquals(expected, kinds.filter { it in expected }.distinct(), "progress events")
        check(listener.events.contains(ProgressEvent.SecurityChosen(SecurityLevel.SEC1, 0u))) { "${listener.events}" }
    }

    t.test("security 2: scan, send data and provision through a Kotlin transport") {
        val sim = sec2Device(username = "wifiprov", password = "s3cr3t-pass")
        ProvDevice(ForwardingTransport(sim), options("s3cr3t-pass", SecurityLevel.SEC2)).use { device ->
            val session = device.connect()
            checkEquals(SecurityLevel.SEC2, session.security, "security")
            val networks = device.scanWifi()
            check(networks.any { it.ssidLossy() == HOME && !it.auth.isOpen() }) { "scan: ${networks.map { it.ssidLossy() }}" }
            val echo = device.sendData("custom-data", "hello".toByteArray())
            checkEquals("hello", String(echo), "custom-data echo")
            checkEquals(HOME, device.provisionWifi(HOME, HOME_PASS).ssidText, "joined")
            check(device.wifiStatus() is WifiStatus.Connected) { "status after provisioning" }
        }
        checkEquals(HOME, sim.connectedSsid(), "device's ssid")
    }

    t.test("wrong PoP gives ProvException.WrongCredentials") {
        ProvDevice(ForwardingTransport(sec1Device("abcd1234")), options("wrong-pop")).use { device ->
            val e = expectThrows<ProvException.WrongCredentials>("connect") { device.connect() }
            // toString is the core's own message, and it holds no PoP.
            check(e.toString().startsWith("the device rejected the handshake proof")) { "toString: $e" }
            check(!e.toString().contains("wrong-pop")) { "toString shows the PoP: $e" }
        }
        ProvDevice(ForwardingTransport(sec2Device(password = "right")), options("wrong", SecurityLevel.SEC2)).use {
            expectThrows<ProvException.WrongCredentials>("sec2 connect") { it.connect() }
        }
    }

    t.test("an exception thrown by the app's transport gives ProvException.Transport") {
        val transport = ForwardingTransport(sec1Device(), failOn = "prov-session")
        ProvDevice(transport, options("abcd1234")).use { device ->
            val e = expectThrows<ProvException.Transport>("connect") { device.connect() }
            checkEquals(ProvStep.Handshake, e.step, "step")
            check(e.detail.contains("radio switched off")) { "detail: ${e.detail}" }
            checkEquals("transport error during security handshake (prov-session): ${e.detail}", e.toString(), "toString")
        }
    }

    t.test("a typed TransportError from the app keeps its meaning") {
        val transport = ForwardingTransport(
            sec1Device(), failOn = "proto-ver", failure = TransportException.Unreachable("not in range"),
        )
        ProvDevice(transport, options("abcd1234")).use { device ->
            val e = expectThrows<ProvException.Unreachable>("connect") { device.connect() }
            checkEquals(ProvStep.ReadCapabilities, e.step, "step")
        }
    }

    t.test("CancelHandle.cancel() stops a pending call with ProvException.Cancelled") {
        val transport = ForwardingTransport(sec1Device(), hangOn = "prov-config")
        ProvDevice(transport, options("abcd1234")).use { device ->
            device.connect()
            val cancel = CancelHandle()
            coroutineScope {
                val call = async { runCatching { device.provisionWifi(HOME, HOME_PASS, cancel) } }
                transport.hanging.await()
                cancel.cancel()
                val e = call.await().exceptionOrNull()
                check(e is ProvException.Cancelled) { "got $e" }
            }
            check(cancel.isCancelled()) { "handle not marked cancelled" }
            // The session was closed: the next call says so instead of using a stale cipher.
            expectThrows<ProvException.NotConnected>("after cancel") { device.wifiStatus() }
        }
    }

    t.test("cancelling the coroutine stops the Rust call too") {
        val transport = ForwardingTransport(sec1Device(), hangOn = "prov-scan")
        ProvDevice(transport, options("abcd1234")).use { device ->
            device.connect()
            expectThrows<TimeoutCancellationException>("scan") { withTimeout(300) { device.scanWifi() } }
            // The device object is still usable.
            checkEquals(SecurityLevel.SEC1, device.connect().security, "reconnect")
        }
    }

    t.test("device errors are typed: wrong Wi-Fi passphrase, unknown network, security below minimum") {
        ProvDevice(ForwardingTransport(sec1Device()), options("abcd1234")).use { device ->
            device.connect()
            expectThrows<ProvException.WifiAuthFailed>("wrong passphrase") { device.provisionWifi(HOME, "wrong-pass") }
            expectThrows<ProvException.WifiNetworkNotFound>("unknown ssid") { device.provisionWifi("Nowhere", "whatever") }
            checkEquals(HOME, device.provisionWifi(HOME, HOME_PASS).ssidText, "retry on the same session")
        }
        val open = SimulatedDevice(SimulatedDeviceConfig(security = SecurityLevel.SEC0))
        ProvDevice(ForwardingTransport(open), options(null)).use { device ->
            val e = expectThrows<ProvException.SecurityBelowMinimum>("sec0 device") { device.connect() }
            checkEquals(SecurityLevel.SEC0, e.offered, "offered")
        }
        ProvDevice(ForwardingTransport(open), options(null, SecurityLevel.SEC0)).use { device ->
            checkEquals(SecurityLevel.SEC0, device.connect().security, "sec0 allowed explicitly")
            expectThrows<ProvException.InvalidInput>("ssid too long") { device.provisionWifi("x".repeat(40), "") }
        }
    }

    t.test("calls before connect() give ProvException.NotConnected") {
        ProvDevice(ForwardingTransport(sec1Device()), options("abcd1234")).use { device ->
            checkEquals(true, device.capabilities().supportsWifi(), "capabilities without a session")
            expectThrows<ProvException.NotConnected>("scan") { device.scanWifi() }
        }
    }

    t.test("a throwing progress listener does not break provisioning") {
        ProvDevice(ForwardingTransport(sec1Device()), options("abcd1234")).use { device ->
            device.setProgressListener(object : ProgressListener {
                override fun onProgress(event: ProgressEvent) = throw IllegalStateException("UI gone")
            })
            device.connect()
            checkEquals(HOME, device.provisionWifi(HOME, HOME_PASS).ssidText, "joined")
        }
    }

    t.test("custom networks and Thread on a simulated network_provisioning device") {
        val sim = SimulatedDevice(
            SimulatedDeviceConfig(
                security = SecurityLevel.SEC1, pop = "pop", thread = true, joinDelayMs = 20u,
                networks = listOf(SimulatedNetwork(ssid = "Lab", passphrase = "labpass1", rssi = -40)),
            ),
        )
        ProvDevice.simulated(sim, options("pop")).use { device ->
            val caps = device.connect().version
            check(caps.supportsThread() && caps.hasThreadScan()) { "capabilities $caps" }
            checkEquals(listOf("Lab"), device.scanWifi().map { it.ssidLossy() }, "custom network list")
            val thread = device.scanThread()
            val home = thread.first { it.networkName == "OpenThread-Home" }
            // A minimal valid dataset: channel, PAN id, extended PAN id, network name, network key,
            // mesh-local prefix (the core checks the mandatory TLVs before sending).
            val name = home.networkName.toByteArray()
            val pan = home.panId.toInt()
            val dataset = byteArrayOf(0, 3, 0, 0, home.channel.toByte(), 1, 2, (pan shr 8).toByte(), pan.toByte(), 2, 8) +
                home.extPanId + byteArrayOf(3, name.size.toByte()) + name +
                byteArrayOf(5, 16) + ByteArray(16) { 0x11 } + byteArrayOf(7, 8, 0xfd.toByte(), 0, 0, 0, 0, 0, 0, 0)
            val attached = device.provisionThread(dataset)
            check(attached is ThreadStatus.Attached) { "thread status $attached" }
            checkEquals("OpenThread-Home", (attached as ThreadStatus.Attached).name, "attached")
        }
        check(sim.threadAttached()) { "the device did not attach" }
    }

    t.test("built-in SoftAP transport over HTTP to the simulator on loopback") {
        val sim = sec2Device(password = "softap-pass")
        val address = pin(sim).serveHttp()
        ProvDevice.softap(address, options("softap-pass", SecurityLevel.SEC2)).use { device ->
            device.connect()
            checkEquals(HOME, device.provisionWifi(HOME, HOME_PASS).ssidText, "joined over HTTP")
        }
    }

    t.test("the logger receives the library's records") {
        val records: MutableList<LogRecord> = Collections.synchronizedList(mutableListOf())
        setLogger(object : Logger {
            override fun log(record: LogRecord) {
                records.add(record)
            }
        })
        setMaxLogLevel(LogLevel.DEBUG)
        ProvDevice.simulated(sec1Device(), options("abcd1234")).use { it.connect() }
        setLogger(null)
        check(records.isNotEmpty()) { "no records" }
        check(records.all { it.target.startsWith("rainmaker_prov") }) { "foreign records" }
        check(records.none { it.message.contains("abcd1234") }) { "a PoP was logged" }
    }

    bleTests(t)

    rainMakerTests(t)

    exitProcess(t.finish())
}
