// BLE binding tests: a fake peripheral written in Kotlin, implementing the core's GattLink (the
// interface the shipped AndroidGattLink implements on android.bluetooth), forwarding to a
// SimulatedPeripheral (the simulated device's GATT layout) and adding failures of its own. The
// core's GATT driver runs on top of it through ProvDevice.ble, exactly as on a phone.
package rainmaker.prov.tests

import java.util.Collections
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.awaitCancellation
import rainmaker.prov.BleOptions
import rainmaker.prov.CancelHandle
import rainmaker.prov.ProvDevice
import rainmaker.prov.SimulatedDevice
import rainmaker.prov.SimulatedPeripheral
import rainmaker.prov.SimulatedPeripheralConfig
import rainmaker.prov.core.AdvertisementFilter
import rainmaker.prov.core.GattLink
import rainmaker.prov.core.GattLinkException
import rainmaker.prov.core.GattServiceInfo
import rainmaker.prov.core.ProgressEvent
import rainmaker.prov.core.ProvException
import rainmaker.prov.core.ProvStep
import rainmaker.prov.core.SecurityLevel
import rainmaker.prov.core.WifiNetwork
import rainmaker.prov.core.advertisementMatches
import rainmaker.prov.gattStatusError
import rainmaker.prov.samples.ProvisioningResult
import rainmaker.prov.samples.WifiChoice
import rainmaker.prov.samples.provisionOverBle

const val USER_DESCRIPTION = "00002901-0000-1000-8000-00805f9b34fb"

/** One value the fake peripheral was asked to write. */
data class Write(val characteristic: String, val size: Int)

/**
 * A GattLink written in Kotlin: every operation goes to [target] (the simulated device's
 * peripheral); it records what was written and can fail on its own: report a smaller
 * [writeLimitOverride], drop the link on the read that follows write number [dropReadAfterWrite],
 * throw an unexpected exception on write number [throwAtWrite], or hang on every read ([hangOnRead]).
 */
class KotlinPeripheral(
    private val target: SimulatedPeripheral,
    private val writeLimitOverride: UInt? = null,
    private val dropReadAfterWrite: Int? = null,
    private val throwAtWrite: Int? = null,
    private val hangOnRead: Boolean = false,
) : GattLink {
    val writes: MutableList<Write> = Collections.synchronizedList(mutableListOf())
    val descriptorReads = AtomicInteger()
    val readCancelled = AtomicBoolean(false)

    override suspend fun connect() = target.connect()

    override suspend fun discoverServices(): List<GattServiceInfo> = target.discoverServices()

    override suspend fun readDescriptor(service: String, characteristic: String, descriptor: String): ByteArray {
        descriptorReads.incrementAndGet()
        return target.readDescriptor(service, characteristic, descriptor)
    }

    override suspend fun writeCharacteristic(service: String, characteristic: String, value: ByteArray) {
        writes.add(Write(characteristic, value.size))
        if (writes.size == throwAtWrite) throw IllegalStateException("the Kotlin adapter crashed")
        target.writeCharacteristic(service, characteristic, value)
    }

    override suspend fun readCharacteristic(service: String, characteristic: String): ByteArray {
        if (hangOnRead) {
            try {
                awaitCancellation()
            } finally {
                readCancelled.set(true)
            }
        }
        if (writes.size == dropReadAfterWrite) {
            target.dropLink()
            throw GattLinkException.Disconnected("the Kotlin link lost the peripheral")
        }
        return target.readCharacteristic(service, characteristic)
    }

    override fun writeLimit(): UInt? = writeLimitOverride ?: target.writeLimit()

    override fun advertisedServices(): List<String> = target.advertisedServices()

    override suspend fun disconnect() = target.disconnect()
}

fun peripheral(device: SimulatedDevice, config: SimulatedPeripheralConfig = SimulatedPeripheralConfig()) =
    SimulatedPeripheral(device, config)

fun bleTests(t: TestRunner) {
    t.test("BLE security 1: connect and provision Wi-Fi through a Kotlin GattLink") {
        val sim = sec1Device()
        val target = peripheral(sim)
        val link = KotlinPeripheral(target)
        ProvDevice.ble(link, options("abcd1234")).use { device ->
            val session = device.connect()
            checkEquals(SecurityLevel.SEC1, session.security, "security")
            checkEquals(HOME, device.provisionWifi(HOME, HOME_PASS).ssidText, "joined")
            device.disconnect()
        }
        checkEquals(HOME, sim.connectedSsid(), "device's ssid")
        check(link.descriptorReads.get() >= 5) { "endpoint names read: ${link.descriptorReads.get()}" }
        checkEquals(link.writes.size.toULong(), target.writes(), "every write reached the peripheral")
        check(link.writes.all { it.size <= 481 }) { "writes ${link.writes}" }
    }

    t.test("BLE security 2: scan and provision through a Kotlin GattLink (Bluedroid-style firmware)") {
        val sim = sec2Device(password = "ble-sec2-pass")
        val link = KotlinPeripheral(peripheral(sim, SimulatedPeripheralConfig(bluedroid = true)))
        ProvDevice.ble(link, options("ble-sec2-pass", SecurityLevel.SEC2)).use { device ->
            checkEquals(SecurityLevel.SEC2, device.connect().security, "security")
            val networks = device.scanWifi()
            check(networks.any { it.ssidLossy() == HOME }) { "scan: ${networks.map { it.ssidLossy() }}" }
            checkEquals(HOME, device.provisionWifi(HOME, HOME_PASS).ssidText, "joined")
        }
        checkEquals(HOME, sim.connectedSsid(), "device's ssid")
    }

    t.test("BLE wrong PoP gives ProvException.WrongCredentials (NimBLE and Bluedroid firmware)") {
        for (bluedroid in listOf(false, true)) {
            val config = SimulatedPeripheralConfig(bluedroid = bluedroid)
            val sec1 = KotlinPeripheral(peripheral(sec1Device("abcd1234"), config))
            ProvDevice.ble(sec1, options("wrong-pop")).use { device ->
                expectThrows<ProvException.WrongCredentials>("sec1, bluedroid=$bluedroid") { device.connect() }
            }
            val sec2 = KotlinPeripheral(peripheral(sec2Device(password = "right"), config))
            ProvDevice.ble(sec2, options("wrong", SecurityLevel.SEC2)).use { device ->
                expectThrows<ProvException.WrongCredentials>("sec2, bluedroid=$bluedroid") { device.connect() }
            }
        }
    }

    t.test("BLE link dropping mid-exchange gives ProvException.Disconnected; connect() again recovers") {
        val sim = sec1Device()
        // Writes: proto-ver, two handshake steps, then prov-config (set credentials): its read drops.
        val link = KotlinPeripheral(peripheral(sim), dropReadAfterWrite = 4)
        ProvDevice.ble(link, options("abcd1234")).use { device ->
            device.connect()
            val e = expectThrows<ProvException.Disconnected>("provision") { device.provisionWifi(HOME, HOME_PASS) }
            checkEquals(ProvStep.SendCredentials, e.step, "step")
            device.connect()
            checkEquals(HOME, device.provisionWifi(HOME, HOME_PASS).ssidText, "joined after reconnecting")
        }
        // The simulated firmware's own drop (the peripheral side, on the same write) is typed the same way.
        val dropping = KotlinPeripheral(peripheral(sec1Device(), SimulatedPeripheralConfig(dropAtWrite = 4uL)))
        ProvDevice.ble(dropping, options("abcd1234")).use { device ->
            device.connect()
            val e = expectThrows<ProvException.Disconnected>("provision") { device.provisionWifi(HOME, HOME_PASS) }
            checkEquals(ProvStep.SendCredentials, e.step, "step")
        }
    }

    t.test("BLE write limit of 20 bytes: PayloadTooLarge, nothing larger written") {
        // The app's link reports the limit (a stack without MTU negotiation or long writes).
        val target = peripheral(sec1Device())
        val link = KotlinPeripheral(target, writeLimitOverride = 20u)
        ProvDevice.ble(link, options("abcd1234")).use { device ->
            val e = expectThrows<ProvException.PayloadTooLarge>("connect") { device.connect() }
            checkEquals(20uL, e.limit, "limit")
            check(e.size > 20uL) { "size ${e.size}" }
            checkEquals(ProvStep.Handshake, e.step, "step")
        }
        check(link.writes.none { it.size > 20 }) { "a write above the limit reached the link: ${link.writes}" }
        check(link.writes.none { it.characteristic.startsWith("021aff51") }) { "prov-session written: ${link.writes}" }
        checkEquals(link.writes.size.toULong(), target.writes(), "peripheral writes")
        // The simulated firmware's own limit, reported through the forwarding link, does the same.
        val limited = KotlinPeripheral(peripheral(sec1Device(), SimulatedPeripheralConfig(writeLimit = 20u)))
        ProvDevice.ble(limited, options("abcd1234")).use { device ->
            expectThrows<ProvException.PayloadTooLarge>("connect") { device.connect() }
        }
        check(limited.writes.none { it.size > 20 }) { "writes ${limited.writes}" }
    }

    t.test("BLE device without 0x2901 user descriptions (ESP-IDF v3.2 layout) provisions") {
        val sim = sec1Device()
        val target = peripheral(sim, SimulatedPeripheralConfig(descriptions = false))
        target.connect()
        val described = target.discoverServices().flatMap { s -> s.characteristics.flatMap { it.descriptors } }
        check(described.none { it.equals(USER_DESCRIPTION, ignoreCase = true) }) { "descriptors $described" }
        target.disconnect()
        val link = KotlinPeripheral(target)
        ProvDevice.ble(link, options("abcd1234")).use { device ->
            device.connect()
            checkEquals(HOME, device.provisionWifi(HOME, HOME_PASS).ssidText, "joined")
        }
        checkEquals(0, link.descriptorReads.get(), "descriptor reads")
        checkEquals(HOME, sim.connectedSsid(), "device's ssid")
    }

    t.test("BLE: an unexpected exception in the app's GattLink is a typed error, not a crash") {
        // Write 4 is prov-config (the credentials), after the handshake.
        val link = KotlinPeripheral(peripheral(sec1Device()), throwAtWrite = 4)
        ProvDevice.ble(link, options("abcd1234")).use { device ->
            device.connect()
            val e = expectThrows<ProvException.Disconnected>("provision") { device.provisionWifi(HOME, HOME_PASS) }
            checkEquals(ProvStep.SendCredentials, e.step, "step")
            checkEquals(SecurityLevel.SEC1, device.connect().security, "the next connect works")
            checkEquals(HOME, device.provisionWifi(HOME, HOME_PASS).ssidText, "joined")
        }
    }

    t.test("BLE request timeout cancels the Kotlin read and gives ProvException.Timeout") {
        val link = KotlinPeripheral(peripheral(sec1Device()), hangOnRead = true)
        ProvDevice.ble(link, options("abcd1234"), BleOptions(requestTimeoutMs = 300uL)).use { device ->
            val e = expectThrows<ProvException.Timeout>("connect") { device.connect() }
            checkEquals(ProvStep.ReadCapabilities, e.step, "step")
        }
        check(link.readCancelled.get()) { "the hanging Kotlin read was not cancelled" }
    }

    t.test("BLE options are checked: a malformed fallback UUID is InvalidInput") {
        val link = KotlinPeripheral(peripheral(sec1Device()))
        expectThrows<ProvException.InvalidInput>("fallback") {
            ProvDevice.ble(link, options("abcd1234"), BleOptions(fallbackServiceUuids = listOf("not-a-uuid")))
        }
        // Fallbacks find an unadvertised service.
        val hidden = KotlinPeripheral(peripheral(sec1Device(), SimulatedPeripheralConfig(advertised = false)))
        check(hidden.advertisedServices().isEmpty()) { "advertised ${hidden.advertisedServices()}" }
        ProvDevice.ble(hidden, options("abcd1234")).use { checkEquals(SecurityLevel.SEC1, it.connect().security, "sec") }
    }

    t.test("advertisementMatches: name prefix, exact QR name, service UUIDs") {
        val prov = AdvertisementFilter(namePrefix = "PROV_", exactName = null, serviceUuids = emptyList())
        check(advertisementMatches(prov, "PROV_1A2B3C", emptyList())) { "prefix" }
        check(!advertisementMatches(prov, "Headphones", emptyList())) { "other name" }
        check(!advertisementMatches(prov, null, emptyList())) { "no name" }
        check(!advertisementMatches(prov, "prov_1a2b3c", emptyList())) { "case-sensitive" }
        val exact = AdvertisementFilter(namePrefix = "PROV_", exactName = "PROV_1A2B3C", serviceUuids = emptyList())
        check(advertisementMatches(exact, "PROV_1A2B3C", emptyList())) { "exact" }
        check(!advertisementMatches(exact, "PROV_1A2B3C0", emptyList())) { "exact, longer" }
        val target = peripheral(sec1Device(), SimulatedPeripheralConfig(name = "Kitchen lamp"))
        val byService = AdvertisementFilter(
            namePrefix = "PROV_", exactName = null, serviceUuids = listOf("021A9004-0382-4AEA-BFF4-6B3F1C5ADFB4"),
        )
        check(advertisementMatches(byService, target.name(), target.advertisedServices())) { "by service" }
        check(!advertisementMatches(prov, target.name(), target.advertisedServices())) { "custom name, no service rule" }
        val any = AdvertisementFilter(namePrefix = null, exactName = null, serviceUuids = emptyList())
        check(advertisementMatches(any, null, emptyList())) { "empty filter" }
    }

    t.test("gattStatusError: ATT errors are Refused, stack codes Failed") {
        val refused = gattStatusError(0x0e, "write")
        check(refused is GattLinkException.Refused && refused.attError.toInt() == 0x0e) { "0x0e: $refused" }
        val failed = gattStatusError(133, "write")
        check(failed is GattLinkException.Failed && failed.detail.contains("133")) { "133: $failed" }
    }

    t.test("README sample: scan result -> BLE with the QR code's PoP -> pick a network -> provisioned") {
        val sim = sec2Device(password = "qr-pop-1234")
        val target = peripheral(sim, SimulatedPeripheralConfig(name = "PROV_1A2B3C"))
        val qr = """{"ver":"v1","name":"PROV_1A2B3C","username":"wifiprov","pop":"qr-pop-1234","transport":"ble"}"""
        val events = Collections.synchronizedList(mutableListOf<ProgressEvent>())
        val pick: suspend (List<WifiNetwork>) -> WifiChoice = { networks ->
            WifiChoice(networks.first { it.ssidLossy() == HOME }, HOME_PASS)
        }
        val result = provisionOverBle(qr, KotlinPeripheral(target), pick, CancelHandle()) { events.add(it) }
        check(result is ProvisioningResult.Joined) { "result $result" }
        checkEquals(HOME, (result as ProvisioningResult.Joined).connection.ssidText, "joined ssid")
        check(events.contains(ProgressEvent.Connected)) { "events $events" }
        checkEquals(HOME, sim.connectedSsid(), "device's ssid")
        val wrong = provisionOverBle(qr.replace("qr-pop-1234", "bad"), KotlinPeripheral(target), pick, CancelHandle()) {}
        checkEquals(ProvisioningResult.WrongPop, wrong, "wrong PoP")
    }
}
