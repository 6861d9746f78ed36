import Testing
import VRFCModel

/// README "Validation": one test per rule on import/export items. Every
/// message must name the file, the object and the field, and say what
/// would be right.
@Suite struct ItemValidationTests {
    @Test func validItemCompiles() throws {
        let ir = try ir(importItem("cidr: 203.0.113.0/24\naction: permit\nle: 32"))
        let item = try #require(ir.vrfs.first?.imports.first?.ipv4.first)
        let prefix = try IPPrefix.parse("203.0.113.0/24").get()
        #expect(item == PrefixItem(seq: 1, action: .permit, prefix: prefix, le: 32))
    }

    @Test func hostBitsAreRejectedWithTheCanonicalForm() {
        expectOneError(
            errors(importItem("cidr: 10.0.0.1/8\naction: permit")),
            "cr0.yaml:", "VRFRouteConfiguration \"web\"", "spec.import[0].cidr", "host bits", "'10.0.0.0/8'")
    }

    @Test func nonCanonicalIPv6SpellingIsRejected() {
        expectOneError(
            errors(importItem("cidr: 2001:DB8:0:0::/64\naction: permit")),
            "spec.import[0].cidr", "not in canonical form", "'2001:db8::/64'")
    }

    @Test func ipv6HostBitsAreRejected() {
        expectOneError(errors(importItem("cidr: 2001:db8::1/64\naction: permit")), "host bits", "'2001:db8::/64'")
    }

    @Test func leadingZerosInIPv4AreRejected() {
        expectOneError(errors(importItem("cidr: 203.0.113.010/32\naction: permit")), "not in canonical form", "'203.0.113.10/32'")
    }

    @Test func malformedCIDRIsRejected() {
        for bad in ["203.0.113/24", "203.0.113.0/x", "hello", "2001:db8:::/48", "203.0.113.256/32", "/24"] {
            expectOneError(errors(importItem("cidr: \"\(bad)\"\naction: permit")), "spec.import[0].cidr", "not an IPv4 or IPv6 prefix")
        }
    }

    @Test func missingPrefixLengthIsRejectedWithASuggestion() {
        expectOneError(errors(importItem("cidr: 203.0.113.7\naction: permit")), "no prefix length", "'203.0.113.7/32'")
    }

    @Test func prefixLengthAboveMaximumIsRejected() {
        expectOneError(errors(importItem("cidr: 203.0.113.0/33\naction: permit")), "above 32")
        expectOneError(errors(importItem("cidr: 2001:db8::/129\naction: permit")), "above 128")
    }

    @Test func geBelowPrefixLengthIsRejected() {
        expectOneError(
            errors(importItem("cidr: 203.0.113.0/24\naction: permit\nge: 16")),
            "spec.import[0].ge", "ge 16 is below the prefix length 24", "prefix length <= ge <= le <= 32")
    }

    @Test func geEqualToPrefixLengthIsAccepted() throws {
        // FRR 8.4's own rule is "mask length <= ge", so equality loads.
        _ = try ir(importItem("cidr: 203.0.113.0/24\naction: permit\nge: 24"))
    }

    @Test func leBelowPrefixLengthIsRejected() {
        expectOneError(
            errors(importItem("cidr: 2001:db8::/48\naction: permit\nle: 32")),
            "spec.import[0].le", "le 32 is below the prefix length 48", "<= 128")
    }

    @Test func geAboveLeIsRejected() {
        expectOneError(
            errors(importItem("cidr: 203.0.113.0/24\naction: permit\nge: 28\nle: 26")),
            "spec.import[0].le", "le 26 is below ge 28", "use le 28 or more")
    }

    @Test func geOrLeAboveFamilyMaximumIsRejected() {
        expectOneError(errors(importItem("cidr: 203.0.113.0/24\naction: permit\nle: 33")), "spec.import[0].le", "out of range", "1..32")
        expectOneError(errors(importItem("cidr: 2001:db8::/48\naction: permit\nge: 129")), "spec.import[0].ge", "1..128")
    }

    @Test func geOrLeZeroIsRejected() {
        expectOneError(errors(importItem("cidr: 0.0.0.0/0\naction: permit\nle: 0")), "spec.import[0].le", "out of range")
    }

    @Test func actionMustBePermitOrDeny() {
        expectOneError(
            errors(importItem("cidr: 203.0.113.0/24\naction: allow")), "spec.import[0].action", "'allow' is not an action", "permit or deny"
        )
    }

    @Test func actionIsRequired() {
        expectOneError(errors(importItem("cidr: 203.0.113.0/24")), "spec.import[0]", "missing required field 'action'")
    }

    @Test func cidrIsRequired() {
        expectOneError(errors(importItem("action: permit")), "spec.import[0]", "missing required field 'cidr'")
    }

    @Test func itemSeqMustBeInRange() {
        expectOneError(errors(importItem("cidr: 203.0.113.0/24\naction: permit\nseq: 0")), "spec.import[0].seq", "1..4294967295")
        expectOneError(errors(importItem("cidr: 203.0.113.0/24\naction: permit\nseq: 4294967296")), "spec.import[0].seq", "1..4294967295")
    }

    @Test func itemSeqDefaultsToPositionPlusOne() throws {
        let spec =
            "vrf: vrf1\nseq: 10\nexport:\n- {cidr: 203.0.113.0/24, action: permit}\n- {cidr: 2001:db8::/32, action: deny}\n- {cidr: 198.51.100.0/24, action: permit, seq: 99}"
        let entry = try #require(try ir(cr(spec: spec)).vrfs.first?.exports.first)
        #expect(entry.ipv4.map(\.seq) == [1, 99])
        #expect(entry.ipv6.map(\.seq) == [2])
    }

    @Test func duplicateExplicitItemSeqIsRejected() {
        let spec =
            "vrf: vrf1\nseq: 10\nexport:\n- {cidr: 203.0.113.0/24, action: permit, seq: 5}\n- {cidr: 198.51.100.0/24, action: permit, seq: 5}"
        expectOneError(errors(cr(spec: spec)), "spec.export[1].seq", "seq 5 is also used by item [0]")
    }

    @Test func explicitSeqCollidingWithADefaultIsRejected() {
        let spec =
            "vrf: vrf1\nseq: 10\nexport:\n- {cidr: 203.0.113.0/24, action: permit, seq: 2}\n- {cidr: 198.51.100.0/24, action: permit}"
        expectOneError(errors(cr(spec: spec)), "spec.export[1]", "the default for item [1]", "also used by item [0]")
    }

    @Test func exactDuplicateItemIsRejected() {
        let spec =
            "vrf: vrf1\nseq: 10\nimport:\n- {cidr: 203.0.113.0/24, action: permit, le: 32}\n- {cidr: 203.0.113.0/24, action: permit, le: 32}"
        expectOneError(errors(cr(spec: spec)), "spec.import[1]", "repeats item [0]")
    }

    @Test func sameCIDRWithDifferentBoundsIsNotADuplicate() throws {
        let spec = "vrf: vrf1\nseq: 10\nimport:\n- {cidr: 203.0.113.0/24, action: permit}\n- {cidr: 203.0.113.0/24, action: permit, le: 32}"
        #expect(try ir(cr(spec: spec)).vrfs[0].imports[0].ipv4.count == 2)
    }

    @Test func unknownItemFieldIsRejectedWithSuggestion() {
        expectOneError(
            errors(importItem("cidr: 203.0.113.0/24\naction: permit\nlee: 32")), "spec.import[0].lee", "unknown field 'lee'",
            "did you mean 'le'")
    }

    @Test func integerWrittenAsStringIsRejected() {
        expectOneError(
            errors(importItem("cidr: 203.0.113.0/24\naction: permit\nle: \"32\"")), "spec.import[0].le", "write 32 without quotes")
    }

    @Test func integerWithLeadingZeroIsRejected() {
        expectOneError(errors(importItem("cidr: 203.0.113.0/24\naction: permit\nle: 032")), "leading zero", "write 32")
    }
}
