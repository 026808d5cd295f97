using System.Text;

namespace PgArchive.Daemon;

/// <summary>
/// The framing against byte layouts written out by hand from WAL-G's source (internal/daemon/client.go getMessage and
/// common.go ArgsToBytes/BytesToArgs; internal/databases/postgres/daemon_handler.go SocketMessageReader.Next).
/// </summary>
public sealed class DaemonFrameTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    [Fact]
    public void Encode_check_is_the_type_and_length_3_as_walg_sends_it() =>
        Assert.Equal([0x43, 0x00, 0x03], DaemonFrame.Encode(DaemonMessageType.Check));

    [Fact]
    public void Encode_wal_push_carries_its_one_argument_raw_as_walg_sends_it()
    {
        // 'F', uint16 big-endian 3 + 31 = 34, then the 31 bytes of the path: no count byte, no argument length.
        byte[] expected = [0x46, 0x00, 0x22, .. Ascii("pg_wal/000000010000000000000001")];

        Assert.Equal(expected, DaemonFrame.Encode(DaemonMessageType.WalPush, "pg_wal/000000010000000000000001"));
    }

    [Fact]
    public void Encode_wal_fetch_frames_its_two_arguments_as_walg_ArgsToBytes()
    {
        // 'f', total 3 + 1 + (2 + 24) + (2 + 19) = 51; count 2; uint16 24, the name; uint16 19, the destination.
        byte[] expected =
        [
            0x66, 0x00, 0x33, 0x02,
            0x00, 0x18, .. Ascii("000000010000000000000001"),
            0x00, 0x13, .. Ascii("pg_wal/RECOVERYXLOG"),
        ];

        Assert.Equal(expected, DaemonFrame.Encode(DaemonMessageType.WalFetch, "000000010000000000000001", "pg_wal/RECOVERYXLOG"));
    }

    [Fact]
    public void Encode_counts_utf8_bytes_not_characters()
    {
        // 'é' is two bytes: Go's len() counts bytes.
        Assert.Equal([0x46, 0x00, 0x06, 0x2F, 0xC3, 0xA9], DaemonFrame.Encode(DaemonMessageType.WalPush, "/é"));
    }

    [Theory]
    [InlineData("a")]
    [InlineData("000000010000000000000001", "/srv/pg/pg_wal/RECOVERYXLOG")]
    [InlineData("", "x", "")]
    public void Arguments_round_trip(params string[] arguments) =>
        Assert.Equal(arguments, DaemonFrame.DecodeArguments(DaemonFrame.EncodeArguments(arguments)));

    [Fact]
    public void DecodeArguments_reads_an_empty_argument_list() =>
        Assert.Empty(DaemonFrame.DecodeArguments([0x00]));

    [Fact]
    public async Task ReadAsync_returns_the_type_and_body_of_each_message_in_turn()
    {
        using var stream = new MemoryStream([
            .. DaemonFrame.Encode(DaemonMessageType.Check),
            .. DaemonFrame.Encode(DaemonMessageType.WalFetch, "000000010000000000000002", "/d/RECOVERYXLOG"),
        ]);

        var check = await DaemonFrame.ReadAsync(stream, Token);
        var fetch = await DaemonFrame.ReadAsync(stream, Token);
        var end = await DaemonFrame.ReadAsync(stream, Token);

        Assert.Equal(DaemonMessageType.Check, check!.Value.Type);
        Assert.Empty(check.Value.Body);
        Assert.Equal(DaemonMessageType.WalFetch, fetch!.Value.Type);
        Assert.Equal(["000000010000000000000002", "/d/RECOVERYXLOG"], DaemonFrame.DecodeArguments(fetch.Value.Body));
        Assert.Null(end);
    }

    public static TheoryData<string, byte[], string> CorruptBodies => new()
    {
        { "empty", [], "it is empty" },
        { "count without argument", [0x02, 0x00, 0x01, 0x41], "argument 2 of 2 has no length" },
        { "half a length", [0x01, 0x00], "argument 1 of 1 has no length" },
        { "length past the end", [0x01, 0x00, 0x05, 0x41, 0x42], "argument 1 of 1 states 5 bytes, 2 follow" },
        { "bytes left over", [0x01, 0x00, 0x01, 0x41, 0x42], "1 bytes follow its 1 arguments" },
        { "not utf-8", [0x01, 0x00, 0x02, 0xC3, 0x28], "an argument is not UTF-8" },
    };

    [Theory]
    [MemberData(nameof(CorruptBodies))]
    public void DecodeArguments_rejects_a_corrupt_body(string why, byte[] body, string message)
    {
        var ex = Assert.Throws<DaemonProtocolException>(() => DaemonFrame.DecodeArguments(body));

        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("Corrupted daemon message body", ex.Message, StringComparison.Ordinal);
        Assert.NotEmpty(why);
    }

    [Theory]
    [InlineData(new byte[] { 0x46, 0x00, 0x02 }, "its length is 2, less than its 3-byte header")]
    [InlineData(new byte[] { 0x46, 0x00 }, "after 2 of its 3 header bytes")]
    [InlineData(new byte[] { 0x46, 0x00, 0x08, 0x41, 0x42 }, "after 2 of its 5 body bytes")]
    public async Task ReadAsync_rejects_a_short_or_truncated_message(byte[] bytes, string message)
    {
        using var stream = new MemoryStream(bytes);

        var ex = await Assert.ThrowsAsync<DaemonProtocolException>(() => DaemonFrame.ReadAsync(stream, Token));

        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_takes_the_largest_argument_the_uint16_length_can_state()
    {
        var message = DaemonFrame.Encode(DaemonMessageType.WalPush, new string('a', ushort.MaxValue - 3));

        Assert.Equal([0x46, 0xFF, 0xFF], message[..3]);
        Assert.Equal(ushort.MaxValue, message.Length);
    }

    [Fact]
    public void Encode_rejects_an_argument_one_byte_over_what_the_length_can_state()
    {
        var ex = Assert.Throws<DaemonProtocolException>(() => DaemonFrame.Encode(DaemonMessageType.WalPush, new string('a', ushort.MaxValue - 2)));

        Assert.Equal("A daemon message holds at most 65532 bytes of arguments; this one has 65533.", ex.Message);
    }

    [Fact]
    public void EncodeArguments_rejects_more_than_255_arguments() =>
        Assert.Throws<DaemonProtocolException>(() => DaemonFrame.EncodeArguments(Enumerable.Repeat("a", 256).ToArray()));

    [Fact]
    public void EncodeArguments_rejects_a_total_over_walg_bound()
    {
        // WAL-G: len(res) > MaxUint16 - 1 - 2*argsLen fails; two arguments of 32,766 bytes make 1 + 2 * 32,768 = 65,537.
        var ex = Assert.Throws<DaemonProtocolException>(() => DaemonFrame.EncodeArguments([new string('a', 32_766), new string('b', 32_766)]));

        Assert.Equal("The arguments of a daemon message hold at most 65530 bytes in all.", ex.Message);
    }
}
