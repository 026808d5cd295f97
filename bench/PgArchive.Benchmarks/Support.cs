using System.Collections.Concurrent;
using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Security;

namespace PgArchive.Benchmarks;

/// <summary>Plain and stored sizes seen in the setups (benchmarks run in-process, so the columns can read them).</summary>
public static class Results
{
    private static readonly ConcurrentDictionary<(string Subject, string Input), (long Plain, long Stored)> Sizes = new();

    public static void Record(string subject, string input, long plain, long stored) => Sizes[(subject, input)] = (plain, stored);

    public static (long Plain, long Stored)? Get(string subject, string input) => Sizes.TryGetValue((subject, input), out var s) ? s : null;
}

/// <summary>A write sink that only counts: the benchmark measures the codec, not a copy into memory.</summary>
public sealed class CountingStream : Stream
{
    private long _length;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _length;
    public override long Position { get => _length; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => _length += count;
    public override void Write(ReadOnlySpan<byte> buffer) => _length += buffer.Length;
}

/// <summary>Plaintext MB/s (MiB of uncompressed, unencrypted data per second) and stored/plain size ratio.</summary>
public sealed class ThroughputColumn(bool ratio) : IColumn
{
    public string Id => ratio ? "PgArchive.Ratio" : "PgArchive.MBps";
    public string ColumnName => ratio ? "Stored/Plain" : "MB/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => ratio ? 1 : 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => ratio ? "Stored size / plain size" : "MiB of plaintext processed per second, one thread";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var subject = (benchmarkCase.Parameters["Codec"] ?? benchmarkCase.Parameters["Encryptor"])?.ToString() ?? "";
        var input = benchmarkCase.Parameters.Items.Any(p => p.Name == "Input") ? benchmarkCase.Parameters["Input"]?.ToString() ?? "wal" : "wal";
        if (Results.Get(subject, input) is not { } sizes)
        {
            return "?";
        }

        if (ratio)
        {
            return ((double)sizes.Stored / sizes.Plain).ToString("0.000", CultureInfo.InvariantCulture);
        }

        var mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
        return mean is > 0 ? (sizes.Plain / (1024.0 * 1024.0) / (mean.Value / 1e9)).ToString("0.0", CultureInfo.InvariantCulture) : "?";
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}

/// <summary>An RSA-2048 OpenPGP key made with BouncyCastle for the benchmark (no passphrase).</summary>
public static class BenchmarkPgpKey
{
    public static readonly string ArmoredSecretKey = Create();

    private static string Create()
    {
        var generator = new RsaKeyPairGenerator();
        generator.Init(new RsaKeyGenerationParameters(BigInteger.ValueOf(0x10001), new SecureRandom(), 2048, 80));
        var pair = new PgpKeyPair(PublicKeyAlgorithmTag.RsaGeneral, generator.GenerateKeyPair(), DateTime.UtcNow);
        var rings = new PgpKeyRingGenerator(PgpSignature.PositiveCertification, pair, "PgArchive benchmark <bench@pgarchive.invalid>",
            SymmetricKeyAlgorithmTag.Null, Array.Empty<char>(), true, null, null, new SecureRandom());
        using var text = new MemoryStream();
        using (var armor = new ArmoredOutputStream(text))
        {
            rings.GenerateSecretKeyRing().Encode(armor);
        }

        return System.Text.Encoding.ASCII.GetString(text.ToArray());
    }
}
