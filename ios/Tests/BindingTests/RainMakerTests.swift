// RainMaker binding tests: the shipped URLSessionHttpClient against the fake RainMaker cloud (real
// HTTP on loopback) and simulated RainMaker devices (feature `test-cloud`).
import Foundation
import RainmakerProv

let rmUser = "alice@example.com"
let rmPass = "hunter22"
let rmPop = "abcd1234"

func cloudClient(_ fake: FakeRainMakerCloud) throws -> RainMakerCloud {
    try RainMakerCloud(http: URLSessionHttpClient(timeout: 10), baseUrl: fake.baseUrl(), claimUrl: fake.claimUrl(),
                       requestTimeoutMs: 10_000)
}

func loggedIn(_ fake: FakeRainMakerCloud) async throws -> RainMakerCloud {
    let cloud = try cloudClient(fake)
    try check(try await cloud.login(userName: rmUser, password: rmPass).isLoggedIn(), "login needs a code")
    return cloud
}

func rmDevice(_ rainmaker: SimulatedRainMaker?, security: SecurityLevel = .sec1, corruptedSalt: Bool = false) throws
    -> SimulatedDevice {
    try SimulatedDevice.withRainmaker(
        config: SimulatedDeviceConfig(security: security, pop: rmPop, username: "wifiprov", joinDelayMs: 20),
        rainmaker: rainmaker, corruptedSalt: corruptedSalt)
}

func rmProv(_ sim: SimulatedDevice, security: SecurityLevel = .sec1) -> ProvDevice {
    ProvDevice.simulated(device: sim, options: ProvOptions(minSecurity: security, pop: rmPop, sec2Username: "wifiprov"))
}

func setup(_ rainmaker: SimulatedRainMaker?) async throws -> (FakeRainMakerCloud, SimulatedDevice, RainMakerCloud) {
    let fake = try await startFakeCloud(userName: rmUser, password: rmPass)
    let sim = try rmDevice(rainmaker)
    fake.attach(device: sim)
    return (fake, sim, try await loggedIn(fake))
}

func cloudPlan(_ cloud: RainMakerCloud) -> AssociationPlan { AssociationPlan.cloud(cloud: cloud) }

/// The SSID of the Wi-Fi network the outcome says the device joined (nil: none, or Thread).
func joinedSsid(_ outcome: RainMakerOutcome) -> Data? {
    guard case .wifi(let info)? = outcome.joined else { return nil }
    return info.ssid
}

func rainMakerTests(_ t: TestRunner) async {
    await t.test("rainmaker: login, wrong password is LoginRejected, tokens persist and restore") {
        let fake = try await startFakeCloud(userName: rmUser, password: rmPass)
        let cloud = try cloudClient(fake)
        try check(!cloud.isLoggedIn(), "logged in before login")
        let early = try await expectError("user id before login") { _ = try cloud.userId() }
        guard case RainMakerError.LoginRequired = early else { throw AssertionFailed(description: "got \(early)") }
        let wrong = try await expectError("wrong password") { _ = try await cloud.login(userName: rmUser, password: "nope") }
        guard case RainMakerError.LoginRejected(let status, _) = wrong, (400..<500).contains(status) else {
            throw AssertionFailed(description: "got \(wrong)")
        }
        // What an app shows is the core's message, not a dump of the case.
        try checkEqual((wrong as? RainMakerError)?.description, String(describing: wrong), "description")
        try checkEqual(String(describing: wrong), wrong.localizedDescription, "localizedDescription")
        try check(!String(describing: wrong).hasPrefix("LoginRejected("), "a dump: \(wrong)")
        try check(try await cloud.login(userName: rmUser, password: rmPass).isLoggedIn(), "needs a code")
        try checkEqual(fake.userId(), try cloud.userId(), "user id")
        try checkEqual(rmUser, cloud.userName(), "user name")
        guard let tokens = cloud.tokens() else { throw AssertionFailed(description: "no tokens") }
        try check(!String(describing: tokens).contains(tokens.accessToken()), "description shows the token")
        let restored = try cloudClient(fake)
        restored.setTokens(tokens: CloudTokens(accessToken: tokens.accessToken(), idToken: tokens.idToken(),
                                               refreshToken: tokens.refreshToken()))
        try checkEqual(fake.userId(), try restored.userId(), "restored user id")
        try await restored.refresh()
        restored.logout()
        try check(!restored.isLoggedIn(), "still logged in")
    }

    await t.test("rainmaker: URLSessionHttpClient bounds bodies, unreachable clouds are typed, requests redact") {
        let fake = try await startFakeCloud(userName: rmUser, password: rmPass)
        let body = Data(#"{"user_name":"\#(rmUser)","password":"\#(rmPass)"}"#.utf8)
        let request = HttpRequest(method: .post, url: fake.baseUrl() + "login2",
                                  headers: [HttpHeader(name: "Content-Type", value: "application/json")], body: body)
        let answer = try await URLSessionHttpClient().send(request: request)
        try checkEqual(200, Int(answer.status), "status")
        let big = try await expectError("bounded body") { _ = try await URLSessionHttpClient(maxBodyBytes: 64).send(request: request) }
        guard case HttpError.TooLarge = big else { throw AssertionFailed(description: "got \(big)") }
        var bad = request
        bad.body = Data("{}".utf8)
        let refused = try await URLSessionHttpClient().send(request: bad)
        try check(refused.status >= 400 && !refused.body.isEmpty, "error answer \(refused.status)")
        var secret = request
        secret.headers = [HttpHeader(name: "Authorization", value: "tok-s3cret")]
        try check(!String(describing: secret).contains("tok-s3cret"), "description shows the token")
        let closed = try RainMakerCloud(http: URLSessionHttpClient(timeout: 5), baseUrl: "http://127.0.0.1:1/v1/",
                                        claimUrl: "http://127.0.0.1:1/", requestTimeoutMs: 5_000)
        let down = try await expectError("closed port") { _ = try await closed.login(userName: rmUser, password: rmPass) }
        guard case RainMakerError.CloudUnreachable = down else { throw AssertionFailed(description: "got \(down)") }
    }

    await t.test("rainmaker: traditional mapping with a user id and secret key (seed call and one call)") {
        let sim = try rmDevice(.userAssoc(nodeId: "node-ua"))
        let device = rmProv(sim)
        _ = try await device.connect()
        try checkEqual("node-ua", try await device.setUserMapping(userId: "user-1", secretKey: "3f1c-secret"), "node id")
        _ = try await device.provisionWifi(ssid: home, passphrase: homePass)
        await device.disconnect()
        let sim2 = try rmDevice(.userAssoc(nodeId: "node-ua2"))
        let outcome = try await rmProv(sim2).provisionRainmaker(
            plan: AssociationPlan.userMapping(userId: "user-2", secretKey: "key-2"), ssid: home, passphrase: homePass)
        try checkEqual(AssociationState.sentToDevice, outcome.association, "state")
        try checkEqual("node-ua2", outcome.nodeId, "node id")
        try checkEqual(homeSsid, joinedSsid(outcome), "joined")
        try checkEqual(["user-2"], sim2.rainmakerMappedUserIds(), "device mapping")
    }

    await t.test("rainmaker: cloud mapping is confirmed after the device joined") {
        let (fake, sim, cloud) = try await setup(.userAssoc(nodeId: "node-cloud"))
        let device = rmProv(sim)
        let events = RecordingListener()
        device.setProgressListener(listener: events)
        let outcome = try await device.provisionRainmaker(plan: cloudPlan(cloud), ssid: home, passphrase: homePass)
        try checkEqual(AssociationState.confirmed, outcome.association, "state")
        try check(outcome.mode == .userAssoc && outcome.pending == nil, "outcome \(outcome)")
        try checkEqual(["node-cloud"], fake.mappedNodeIds(), "account nodes")
        try check(events.events.contains(.confirmingAssociation), "events \(events.events)")
        try check(events.events.contains(.associationConfirmed(nodeId: "node-cloud")), "events \(events.events)")
    }

    for (name, personality) in [("EC", SimulatedRainMaker.challengeResponse(nodeId: "node-ec")),
                                ("RSA", SimulatedRainMaker.challengeResponseRsa(nodeId: "node-rsa"))] {
        await t.test("rainmaker: challenge-response with an \(name) node key") {
            let (fake, sim, cloud) = try await setup(personality)
            let device = rmProv(sim)
            _ = try await device.connect()
            let association = try await device.associate(cloud: cloud)
            // `.mapped`: challenge-response, the node is on the account (confirmed); a traditional
            // mapping would be `.pending`.
            guard case .mapped(let nodeId) = association else {
                throw AssertionFailed(description: "not mapped by ch_resp: \(association)")
            }
            try checkEqual([nodeId], fake.mappedNodeIds(), "account nodes")
            _ = try await device.provisionWifi(ssid: home, passphrase: homePass)
        }
    }

    await t.test("rainmaker: assisted claiming then association, in one call") {
        let (fake, sim, cloud) = try await setup(.claiming(challengeResponse: true))
        let refused = try await expectError("claiming not allowed") {
            _ = try await rmProv(sim).provisionRainmaker(plan: cloudPlan(cloud), ssid: home, passphrase: homePass)
        }
        guard case RainMakerError.ClaimPending = refused else { throw AssertionFailed(description: "got \(refused)") }
        let events = RecordingListener()
        let device = rmProv(sim)
        device.setProgressListener(listener: events)
        let outcome = try await device.provisionRainmaker(plan: cloudPlan(cloud), ssid: home, passphrase: homePass,
                                                          allowClaim: true)
        try check(outcome.claimed, "not claimed")
        try checkEqual(sim.rainmakerNodeId(), outcome.nodeId, "node id")
        try checkEqual(AssociationState.confirmed, outcome.association, "state")
        try checkEqual([outcome.nodeId ?? ""], fake.mappedNodeIds(), "account nodes")
        try check(events.events.contains(.claiming), "events \(events.events)")
    }

    await t.test("rainmaker: a device without RainMaker endpoints is provisioned, not associated") {
        let (_, sim, cloud) = try await setup(nil)
        let events = RecordingListener()
        let device = rmProv(sim)
        device.setProgressListener(listener: events)
        let outcome = try await device.provisionRainmaker(plan: cloudPlan(cloud), ssid: home, passphrase: homePass)
        try checkEqual(AssociationState.notAssociated, outcome.association, "state")
        try checkEqual(home, sim.connectedSsid(), "joined")
        try check(events.events.contains(.notAssociated), "events \(events.events)")
    }

    await t.test("rainmaker: a security 2 device with a corrupted salt is provisioned") {
        let sim = try rmDevice(.userAssoc(nodeId: "node-salt"), security: .sec2, corruptedSalt: true)
        let outcome = try await rmProv(sim, security: .sec2).provisionRainmaker(
            plan: AssociationPlan.userMapping(userId: "user-s", secretKey: "key-s"), ssid: home, passphrase: homePass)
        try checkEqual(SecurityLevel.sec2, outcome.session.security, "security")
        try checkEqual("node-salt", outcome.nodeId, "node id")
    }

    await t.test("rainmaker: an expired access token is refreshed") {
        let fake = try await startFakeCloud(userName: rmUser, password: rmPass)
        fake.setFault(fault: .expiredAccessTokens, enabled: true)
        let cloud = try await loggedIn(fake)
        let before = cloud.tokens()?.accessToken()
        fake.setFault(fault: .expiredAccessTokens, enabled: false)
        let sim = try rmDevice(.challengeResponse(nodeId: "node-exp"))
        fake.attach(device: sim)
        let outcome = try await rmProv(sim).provisionRainmaker(plan: cloudPlan(cloud), ssid: home, passphrase: homePass)
        try checkEqual(AssociationState.confirmed, outcome.association, "state")
        try check(cloud.tokens()?.accessToken() != before, "token not refreshed")
    }

    await t.test("rainmaker: failure modes end in their typed errors") {
        let (fake, sim, cloud) = try await setup(.challengeResponse(nodeId: "node-rej"))
        fake.setFault(fault: .rejectChallenges, enabled: true)
        let rejected = try await expectError("wrong signature") {
            _ = try await rmProv(sim).provisionRainmaker(plan: cloudPlan(cloud), ssid: home, passphrase: homePass)
        }
        guard case RainMakerError.ChallengeRejected = rejected else { throw AssertionFailed(description: "got \(rejected)") }

        for fault in [FakeCloudFault.mappingDiscarded, .mappingTimedOut] {
            let (fake, sim, cloud) = try await setup(.userAssoc(nodeId: "node-\(fault)"))
            fake.setFault(fault: fault, enabled: true)
            let error = try await expectError("\(fault)") {
                _ = try await rmProv(sim).provisionRainmaker(plan: cloudPlan(cloud), ssid: home, passphrase: homePass)
            }
            switch (fault, error) {
            case (.mappingDiscarded, RainMakerError.MappingDiscarded), (.mappingTimedOut, RainMakerError.MappingTimedOut): break
            default: throw AssertionFailed(description: "\(fault): got \(error)")
            }
        }

        let (fake5, sim5, cloud5) = try await setup(.challengeResponse(nodeId: "node-5xx"))
        fake5.failNext(path: "/v1/user/nodes/mapping/initiate", count: 3, status: 503)
        let busy = try await expectError("5xx") {
            _ = try await rmProv(sim5).provisionRainmaker(plan: cloudPlan(cloud5), ssid: home, passphrase: homePass)
        }
        guard case RainMakerError.Http(_, 503, _) = busy else { throw AssertionFailed(description: "got \(busy)") }

        let (fakeC, claiming, cloudC) = try await setup(.claiming(challengeResponse: true))
        fakeC.setFault(fault: .oversizedClaimVerify, enabled: true)
        let big = try await expectError("oversized claim answer") {
            _ = try await rmProv(claiming).provisionRainmaker(plan: cloudPlan(cloudC), ssid: home, passphrase: homePass,
                                                              allowClaim: true)
        }
        guard case RainMakerError.ClaimAnswerTooLarge = big else { throw AssertionFailed(description: "got \(big)") }
        cloudC.logout()
        let noLogin = try await expectError("logged out") {
            _ = try await rmProv(claiming).provisionRainmaker(plan: cloudPlan(cloudC), ssid: home, passphrase: homePass)
        }
        guard case RainMakerError.LoginRequired = noLogin else { throw AssertionFailed(description: "got \(noLogin)") }
    }

    await t.test("rainmaker: a mapping left pending is confirmed later") {
        let (fake, sim, cloud) = try await setup(.userAssoc(nodeId: "node-pending"))
        fake.setFault(fault: .mappingNeverConfirmed, enabled: true)
        let outcome = try await rmProv(sim).provisionRainmaker(plan: cloudPlan(cloud), ssid: home, passphrase: homePass,
                                                               confirmTimeoutMs: 1_500)
        guard case .pending(let requestId) = outcome.association, requestId != nil else {
            throw AssertionFailed(description: "state \(outcome.association)")
        }
        // The request id is the one of `AssociationState.pending` (no separate field any more); the
        // pending mapping names the node and the account it is for.
        guard let pending = outcome.pending else { throw AssertionFailed(description: "no pending mapping") }
        try checkEqual("node-pending", pending.nodeId(), "pending node id")
        try checkEqual(fake.userId(), pending.userId(), "pending user id")
        try check(!String(describing: pending).contains(pending.secretKey()), "description shows the secret key")
        fake.setFault(fault: .mappingNeverConfirmed, enabled: false)
        try checkEqual(AssociationState.confirmed, try await cloud.confirmMapping(pending: pending, timeoutMs: 10_000),
                       "confirmed later")
    }

    await t.test("README sample: RainMaker over SoftAP with a PoP and the account") {
        let (fake, sim, _) = try await setup(.challengeResponse(nodeId: "node-readme"))
        let address = try await sim.serveHttp()
        let cloud = try cloudClient(fake)
        var saved: [CloudTokens] = []
        let wrong = await addRainMakerDevice(cloud: cloud, email: rmUser, password: "bad", address: address, pop: rmPop,
                                             ssid: home, passphrase: homePass, saveTokens: { saved.append($0) }) { _ in }
        try checkEqual(AddDeviceResult.wrongAccountPassword, wrong, "wrong account password")
        let result = await addRainMakerDevice(cloud: cloud, email: rmUser, password: rmPass, address: address, pop: rmPop,
                                              ssid: home, passphrase: homePass, saveTokens: { saved.append($0) }) { _ in }
        try checkEqual(AddDeviceResult.added(nodeId: "node-readme", onAccount: true), result, "result")
        try checkEqual(1, saved.count, "tokens saved")
    }
}
