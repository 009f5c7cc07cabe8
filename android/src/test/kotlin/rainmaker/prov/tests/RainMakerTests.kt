// RainMaker binding tests: the shipped HttpUrlConnectionClient against the fake RainMaker cloud
// (real HTTP on loopback) and simulated RainMaker devices (feature `test-cloud`).
package rainmaker.prov.tests

import java.util.Collections
import rainmaker.prov.AssociationPlan
import rainmaker.prov.CloudTokens
import rainmaker.prov.FakeCloudFault
import rainmaker.prov.FakeRainMakerCloud
import rainmaker.prov.ProgressListener
import rainmaker.prov.ProvDevice
import rainmaker.prov.RainMakerCloud
import rainmaker.prov.SimulatedDevice
import rainmaker.prov.SimulatedDeviceConfig
import rainmaker.prov.SimulatedRainMaker
import rainmaker.prov.core.Association
import rainmaker.prov.core.AssociationMode
import rainmaker.prov.core.AssociationState
import rainmaker.prov.core.HttpException
import rainmaker.prov.core.HttpHeader
import rainmaker.prov.core.HttpMethod
import rainmaker.prov.core.HttpRequest
import rainmaker.prov.core.Joined
import rainmaker.prov.core.ProgressEvent
import rainmaker.prov.core.RainMakerException
import rainmaker.prov.core.SecurityLevel
import rainmaker.prov.http.HttpUrlConnectionClient
import rainmaker.prov.samples.AddDeviceResult
import rainmaker.prov.samples.addRainMakerDevice
import rainmaker.prov.startFakeCloud

const val RM_USER = "alice@example.com"
const val RM_PASS = "hunter22"
const val RM_POP = "abcd1234"

fun cloudClient(fake: FakeRainMakerCloud) =
    RainMakerCloud(HttpUrlConnectionClient(), pin(fake).baseUrl(), fake.claimUrl(), 10_000uL)

suspend fun loggedIn(fake: FakeRainMakerCloud): RainMakerCloud {
    val cloud = cloudClient(fake)
    check(cloud.login(RM_USER, RM_PASS).isLoggedIn()) { "login needs a code" }
    return cloud
}

fun rmDevice(
    rainmaker: SimulatedRainMaker?,
    security: SecurityLevel = SecurityLevel.SEC1,
    corruptedSalt: Boolean = false,
) = SimulatedDevice.withRainmaker(
    SimulatedDeviceConfig(security = security, pop = RM_POP, username = "wifiprov", joinDelayMs = 20uL),
    rainmaker,
    corruptedSalt,
)

fun rmProv(sim: SimulatedDevice, security: SecurityLevel = SecurityLevel.SEC1) =
    ProvDevice.simulated(sim, options(RM_POP, security, "wifiprov"))

class Events : ProgressListener {
    val events: MutableList<ProgressEvent> = Collections.synchronizedList(mutableListOf())
    override fun onProgress(event: ProgressEvent) {
        events.add(event)
    }
}

/** A fake cloud with `device` attached, a logged-in client, and a device session with a listener. */
suspend fun setup(rainmaker: SimulatedRainMaker?): Triple<FakeRainMakerCloud, SimulatedDevice, RainMakerCloud> {
    val fake = startFakeCloud(RM_USER, RM_PASS)
    val sim = rmDevice(rainmaker)
    fake.attach(sim)
    return Triple(fake, sim, loggedIn(fake))
}

fun rainMakerTests(t: TestRunner) {
    t.test("rainmaker: login, wrong password is LoginRejected, tokens persist and restore") {
        val fake = startFakeCloud(RM_USER, RM_PASS)
        val cloud = cloudClient(fake)
        check(!cloud.isLoggedIn()) { "logged in before login" }
        expectThrows<RainMakerException.LoginRequired>("user id before login") { cloud.userId() }
        val wrong = expectThrows<RainMakerException.LoginRejected>("wrong password") { cloud.login(RM_USER, "nope") }
        check(wrong.status.toInt() in 400..499) { "status ${wrong.status}" }
        check(cloud.login(RM_USER, RM_PASS).isLoggedIn()) { "needs a code" }
        checkEquals(fake.userId(), cloud.userId(), "user id")
        checkEquals(RM_USER, cloud.userName(), "user name")
        val tokens = cloud.tokens() ?: throw AssertionFailed("no tokens")
        check(!tokens.toString().contains(tokens.accessToken())) { "toString shows the token" }
        val restored = cloudClient(fake)
        restored.setTokens(CloudTokens(tokens.accessToken(), tokens.idToken(), tokens.refreshToken()))
        checkEquals(fake.userId(), restored.userId(), "restored user id")
        restored.refresh()
        restored.logout()
        check(!restored.isLoggedIn()) { "still logged in" }
    }

    t.test("rainmaker: a login that needs a one-time code") {
        val fake = startFakeCloud(RM_USER, RM_PASS)
        fake.setFault(FakeCloudFault.OTP_REQUIRED, true)
        val cloud = cloudClient(fake)
        val outcome = cloud.login(RM_USER, RM_PASS)
        check(outcome.needsCode()) { "no code asked" }
        expectThrows<RainMakerException.LoginRejected>("wrong code") { cloud.loginWithCode(RM_USER, outcome, "000000") }
    }

    t.test("rainmaker: HttpUrlConnectionClient bounds bodies, unreachable clouds are typed, requests redact") {
        val fake = startFakeCloud(RM_USER, RM_PASS)
        val body = """{"user_name":"$RM_USER","password":"$RM_PASS"}""".toByteArray()
        val request = HttpRequest(HttpMethod.POST, pin(fake).baseUrl() + "login2", listOf(HttpHeader("Content-Type", "application/json")), body)
        val answer = HttpUrlConnectionClient().send(request)
        checkEquals(200, answer.status.toInt(), "status")
        expectThrows<HttpException.TooLarge>("bounded body") { HttpUrlConnectionClient(maxBodyBytes = 64).send(request) }
        val bad = HttpUrlConnectionClient().send(request.copy(body = "{}".toByteArray()))
        check(bad.status.toInt() >= 400 && bad.body.isNotEmpty()) { "error answer ${bad.status}" }
        val secret = request.copy(headers = listOf(HttpHeader("Authorization", "tok-s3cret")))
        check(!secret.toString().contains("tok-s3cret")) { "toString shows the token: $secret" }
        val closed = RainMakerCloud(HttpUrlConnectionClient(connectTimeoutMs = 2_000), "http://127.0.0.1:1/v1/", "http://127.0.0.1:1/", 5_000uL)
        expectThrows<RainMakerException.CloudUnreachable>("closed port") { closed.login(RM_USER, RM_PASS) }
        expectThrows<RainMakerException.InvalidInput>("plain http off loopback") {
            RainMakerCloud(HttpUrlConnectionClient(), "http://example.com/v1/", "https://example.com/", 1000uL)
        }
    }

    t.test("rainmaker: traditional mapping with a user id and secret key (seed call and one call)") {
        val sim = rmDevice(SimulatedRainMaker.UserAssoc("node-ua"))
        val device = rmProv(sim)
        device.connect()
        checkEquals("node-ua", device.setUserMapping("user-1", "3f1c2a8e-secret"), "node id")
        device.provisionWifi(HOME, HOME_PASS)
        device.disconnect()
        val sim2 = rmDevice(SimulatedRainMaker.UserAssoc("node-ua2"))
        val outcome = rmProv(sim2).provisionRainmaker(
            AssociationPlan.userMapping("user-2", "key-2"), ssid = HOME, passphrase = HOME_PASS,
        )
        checkEquals(AssociationState.SentToDevice, outcome.association, "state")
        checkEquals("node-ua2", outcome.nodeId, "node id")
        checkEquals(HOME, (outcome.joined as? Joined.Wifi)?.info?.ssidText, "joined")
        checkEquals(listOf("user-2"), sim2.rainmakerMappedUserIds(), "device mapping")
    }

    t.test("rainmaker: cloud mapping is confirmed after the device joined") {
        val (fake, sim, cloud) = setup(SimulatedRainMaker.UserAssoc("node-cloud"))
        val device = rmProv(sim)
        val events = Events()
        device.setProgressListener(events)
        val outcome = device.provisionRainmaker(AssociationPlan.cloud(cloud), ssid = HOME, passphrase = HOME_PASS)
        checkEquals(AssociationState.Confirmed, outcome.association, "state")
        check(outcome.mode != AssociationMode.CHALLENGE_RESPONSE && outcome.pending == null) { "outcome $outcome" }
        checkEquals(listOf("node-cloud"), fake.mappedNodeIds(), "account nodes")
        check(events.events.contains(ProgressEvent.ConfirmingAssociation)) { "events ${events.events}" }
        check(events.events.contains(ProgressEvent.AssociationConfirmed("node-cloud"))) { "events ${events.events}" }
    }

    for ((name, personality) in listOf(
        "EC" to SimulatedRainMaker.ChallengeResponse("node-ec"),
        "RSA" to SimulatedRainMaker.ChallengeResponseRsa("node-rsa"),
    )) {
        t.test("rainmaker: challenge-response with an $name node key") {
            val (fake, sim, cloud) = setup(personality)
            val device = rmProv(sim)
            device.connect()
            // Mapped: challenge-response done, the node is on the account (was state Confirmed,
            // challengeResponse true); Pending would be a traditional mapping still to confirm.
            val association = device.associate(cloud)
            check(association is Association.Mapped) { "not ch_resp: $association" }
            checkEquals(listOf((association as Association.Mapped).nodeId), fake.mappedNodeIds(), "account nodes")
            device.provisionWifi(HOME, HOME_PASS)
        }
    }

    t.test("rainmaker: assisted claiming then association, in one call") {
        val (fake, sim, cloud) = setup(SimulatedRainMaker.Claiming(true))
        expectThrows<RainMakerException.ClaimPending>("claiming not allowed") {
            rmProv(sim).provisionRainmaker(AssociationPlan.cloud(cloud), ssid = HOME, passphrase = HOME_PASS)
        }
        val events = Events()
        val device = rmProv(sim)
        device.setProgressListener(events)
        val outcome = device.provisionRainmaker(
            AssociationPlan.cloud(cloud), ssid = HOME, passphrase = HOME_PASS, allowClaim = true,
        )
        check(outcome.claimed) { "not claimed" }
        checkEquals(sim.rainmakerNodeId(), outcome.nodeId, "node id")
        checkEquals(AssociationState.Confirmed, outcome.association, "state")
        checkEquals(listOf(outcome.nodeId), fake.mappedNodeIds(), "account nodes")
        check(events.events.contains(ProgressEvent.Claiming)) { "events ${events.events}" }
    }

    t.test("rainmaker: a device without RainMaker endpoints is provisioned, not associated") {
        val (_, sim, cloud) = setup(null)
        val device = rmProv(sim)
        val events = Events()
        device.setProgressListener(events)
        val outcome = device.provisionRainmaker(AssociationPlan.cloud(cloud), ssid = HOME, passphrase = HOME_PASS)
        checkEquals(AssociationState.NotAssociated, outcome.association, "state")
        checkEquals(HOME, sim.connectedSsid(), "joined")
        check(events.events.contains(ProgressEvent.NotAssociated)) { "events ${events.events}" }
    }

    t.test("rainmaker: a security 2 device with a corrupted salt is provisioned") {
        val sim = rmDevice(SimulatedRainMaker.UserAssoc("node-salt"), SecurityLevel.SEC2, corruptedSalt = true)
        val outcome = rmProv(sim, SecurityLevel.SEC2).provisionRainmaker(
            AssociationPlan.userMapping("user-s", "key-s"), ssid = HOME, passphrase = HOME_PASS,
        )
        checkEquals(SecurityLevel.SEC2, outcome.session.security, "security")
        checkEquals("node-salt", outcome.nodeId, "node id")
    }

    t.test("rainmaker: an expired access token is refreshed") {
        val fake = startFakeCloud(RM_USER, RM_PASS)
        fake.setFault(FakeCloudFault.EXPIRED_ACCESS_TOKENS, true)
        val cloud = loggedIn(fake)
        val before = cloud.tokens()?.accessToken()
        fake.setFault(FakeCloudFault.EXPIRED_ACCESS_TOKENS, false)
        val sim = rmDevice(SimulatedRainMaker.ChallengeResponse("node-exp"))
        fake.attach(sim)
        val outcome = rmProv(sim).provisionRainmaker(AssociationPlan.cloud(cloud), ssid = HOME, passphrase = HOME_PASS)
        checkEquals(AssociationState.Confirmed, outcome.association, "state")
        check(cloud.tokens()?.accessToken() != before) { "token not refreshed" }
    }

    t.test("rainmaker: a wrong signature is ChallengeRejected") {
        val (fake, sim, cloud) = setup(SimulatedRainMaker.ChallengeResponse("node-rej"))
        fake.setFault(FakeCloudFault.REJECT_CHALLENGES, true)
        expectThrows<RainMakerException.ChallengeRejected>("rejected") {
            rmProv(sim).provisionRainmaker(AssociationPlan.cloud(cloud), ssid = HOME, passphrase = HOME_PASS)
        }
    }

    t.test("rainmaker: discarded and timed-out mappings, and one left pending then confirmed") {
        for ((fault, name) in listOf(FakeCloudFault.MAPPING_DISCARDED to "discarded", FakeCloudFault.MAPPING_TIMED_OUT to "timed out")) {
            val (fake, sim, cloud) = setup(SimulatedRainMaker.UserAssoc("node-$name"))
            fake.setFault(fault, true)
            val error = expectThrows<RainMakerException>(name) {
                rmProv(sim).provisionRainmaker(AssociationPlan.cloud(cloud), ssid = HOME, passphrase = HOME_PASS)
            }
            val expected = if (fault == FakeCloudFault.MAPPING_DISCARDED) {
                error is RainMakerException.MappingDiscarded
            } else {
                error is RainMakerException.MappingTimedOut
            }
            check(expected) { "$name: got $error" }
        }
        val (fake, sim, cloud) = setup(SimulatedRainMaker.UserAssoc("node-pending"))
        fake.setFault(FakeCloudFault.MAPPING_NEVER_CONFIRMED, true)
        val outcome = rmProv(sim).provisionRainmaker(
            AssociationPlan.cloud(cloud), ssid = HOME, passphrase = HOME_PASS, confirmTimeoutMs = 1_500uL,
        )
        val state = outcome.association
        check(state is AssociationState.Pending && state.requestId != null) { "state $state" }
        // The request id is the Pending state's own (checked above): the outcome has no copy of it.
        val pending = outcome.pending ?: throw AssertionFailed("no pending mapping")
        checkEquals(outcome.nodeId, pending.nodeId(), "pending mapping's node id")
        check(!pending.toString().contains(pending.secretKey())) { "toString shows the secret key" }
        fake.setFault(FakeCloudFault.MAPPING_NEVER_CONFIRMED, false)
        checkEquals(AssociationState.Confirmed, cloud.confirmMapping(pending, 10_000uL), "confirmed later")
    }

    t.test("rainmaker: cloud 5xx is Http, an oversized claim answer ClaimAnswerTooLarge, no login LoginRequired") {
        val (fake, sim, cloud) = setup(SimulatedRainMaker.ChallengeResponse("node-5xx"))
        fake.failNext("/v1/user/nodes/mapping/initiate", 3u, 503u)
        val error = expectThrows<RainMakerException.Http>("5xx") {
            rmProv(sim).provisionRainmaker(AssociationPlan.cloud(cloud), ssid = HOME, passphrase = HOME_PASS)
        }
        checkEquals(503, error.status.toInt(), "status")

        val (fake2, claiming, cloud2) = setup(SimulatedRainMaker.Claiming(true))
        fake2.setFault(FakeCloudFault.OVERSIZED_CLAIM_VERIFY, true)
        expectThrows<RainMakerException.ClaimAnswerTooLarge>("oversized") {
            rmProv(claiming).provisionRainmaker(
                AssociationPlan.cloud(cloud2), ssid = HOME, passphrase = HOME_PASS, allowClaim = true,
            )
        }
        cloud2.logout()
        expectThrows<RainMakerException.LoginRequired>("logged out") {
            rmProv(claiming).provisionRainmaker(AssociationPlan.cloud(cloud2), ssid = HOME, passphrase = HOME_PASS)
        }
    }

    t.test("README sample: RainMaker over SoftAP with a PoP and the account") {
        val (fake, sim, _) = setup(SimulatedRainMaker.ChallengeResponse("node-readme"))
        val address = pin(sim).serveHttp()
        val cloud = cloudClient(fake)
        val saved = mutableListOf<CloudTokens>()
        val wrong = addRainMakerDevice(cloud, RM_USER, "bad", address, RM_POP, HOME, HOME_PASS, { saved.add(it) }) {}
        checkEquals(AddDeviceResult.WrongAccountPassword, wrong, "wrong account password")
        val result = addRainMakerDevice(cloud, RM_USER, RM_PASS, address, RM_POP, HOME, HOME_PASS, { saved.add(it) }) {}
        checkEquals(AddDeviceResult.Added("node-readme", true), result, "result")
        checkEquals(1, saved.size, "tokens saved")
    }
}
