// Entry point of the Swift binding tests (scripts/swift-test.sh).
import Foundation
import RainmakerProv

/// Answers every request with its bytes reversed, after a suspension.
final class ReversingTransport: ProvTransport, @unchecked Sendable {
    func send(endpoint: String, data: Data) async throws -> Data {
        try await Task.sleep(nanoseconds: 1_000_000)
        return Data(data.reversed())
    }
    func maxPayload() -> UInt32 { 0 }
    func linkKind() -> LinkKind { .other }
    func disconnect() async {}
}

struct RadioOff: Error {}

final class ThrowingTransport: ProvTransport, @unchecked Sendable {
    let error: Error
    init(_ error: Error) { self.error = error }
    func send(endpoint: String, data: Data) async throws -> Data { throw error }
    func maxPayload() -> UInt32 { 0 }
    func linkKind() -> LinkKind { .other }
    func disconnect() async {}
}

let t = TestRunner()
await t.test("library version is the crate version") {
    try check(libraryVersion().split(separator: ".").count >= 3, "version \(libraryVersion())")
}
await t.test("async call into Rust reaches a Swift async transport") {
    let answer = try await probeExchange(transport: ReversingTransport(), endpoint: "proto-ver", data: Data([1, 2, 3]))
    try checkEqual(Data([3, 2, 1]), answer, "answer")
}
await t.test("an app error in the transport arrives as TransportFailure.Failed") {
    let error = try await expectError("send") {
        _ = try await probeExchange(transport: ThrowingTransport(RadioOff()), endpoint: "prov-session", data: Data())
    }
    guard case TransportFailure.Failed = error else { throw AssertionFailed(description: "got \(error)") }
}
await t.test("a typed transport error keeps its type") {
    let error = try await expectError("send") {
        _ = try await probeExchange(
            transport: ThrowingTransport(TransportFailure.Timeout(millis: 1500)), endpoint: "prov-session", data: Data())
    }
    try checkEqual(TransportFailure.Timeout(millis: 1500), error as? TransportFailure, "error")
}
exit(t.finish())
