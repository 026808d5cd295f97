using PgArchive.Encryption;
using PgArchive.Encryption.Conformance;
using PgArchive.Support;

namespace PgArchive.Compression.Conformance;

/// <summary>
/// No codec escapes the conformance suites: every compressor and read-only decompressor <c>AddPgArchive</c> registers,
/// and every encryptor PgArchive ships, has a test class inheriting its suite.
/// </summary>
public sealed class ConformanceCoverageTests
{
    private static readonly Type[] Suites = [typeof(CompressorConformanceTests<>), typeof(DecompressorConformanceTests<>), typeof(EncryptorConformanceTests<>)];

    /// <summary>The codec types the test classes of this assembly run a suite on.</summary>
    private static HashSet<Type> Covered() =>
    [
        .. typeof(ConformanceCoverageTests).Assembly.GetTypes()
            .Where(t => !t.IsAbstract)
            .Select(t => t.BaseType)
            .Where(b => b is { IsGenericType: true } && Suites.Contains(b.GetGenericTypeDefinition()))
            .Select(b => b!.GetGenericArguments()[0]),
    ];

    [Fact]
    public void Every_registered_compressor_and_decompressor_has_a_conformance_test_class()
    {
        var covered = Covered();

        Assert.NotEmpty(Codecs.Registered);
        Assert.All(Codecs.Registered, codec => Assert.True(covered.Contains(codec.GetType()), $"{codec.GetType().Name} ({codec.Method}) has no conformance test class"));
    }

    [Fact]
    public void Every_encryptor_shipped_has_a_conformance_test_class()
    {
        var covered = Covered();
        var shipped = AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => a.GetName().Name?.StartsWith("PgArchive.", StringComparison.Ordinal) == true && !a.GetName().Name!.EndsWith(".Tests", StringComparison.Ordinal))
            .SelectMany(a => a.GetTypes())
            .Where(t => t.IsClass && !t.IsAbstract && typeof(IEncryptor).IsAssignableFrom(t))
            .ToList();

        Assert.Contains(typeof(LibsodiumEncryptor), shipped);
        Assert.All(shipped, type => Assert.True(covered.Contains(type), $"{type.Name} has no conformance test class"));
    }
}
