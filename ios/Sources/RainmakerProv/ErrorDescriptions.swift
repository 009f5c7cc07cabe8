// The core's messages as the Swift descriptions of its errors. The generated `ProvError` and
// `RainMakerError` carry the core's `Display` as `description` without declaring
// `CustomStringConvertible`, so `String(describing:)`, string interpolation and
// `localizedDescription` (uniffi's `errorDescription` is `String(reflecting:)`) would show a dump of
// the case instead. Declaring the conformance here makes all three the core's message: it names
// the step and holds no secret.
extension ProvError: CustomStringConvertible {}
extension RainMakerError: CustomStringConvertible {}
