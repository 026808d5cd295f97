using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using PgArchive.Compression;
using PgArchive.DependencyInjection;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers compression methods: the one place a codec is added. <c>AddPgArchive</c> registers the built-in ones
/// (lz4, zstd, brotli, lzma, none, and WAL-E's lzo and gzip for reading) through these calls; a codec of your own is one
/// more call. A registered compressor can be chosen by its <see cref="IDecompressor.Method"/>
/// (<see cref="PgArchive.PgArchiveOptions.CompressionMethod"/>, <c>WALG_COMPRESSION_METHOD</c>) and objects with its
/// <see cref="IDecompressor.FileExtension"/> are read with it whatever the configured method.
/// </summary>
public static class CompressionPgArchiveBuilderExtensions
{
    /// <summary>Registers a compressor that has no options. Registering the same type again changes nothing.</summary>
    public static IPgArchiveBuilder AddCompressor<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TCompressor>(
        this IPgArchiveBuilder builder)
        where TCompressor : class, ICompressor
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ICompressor, TCompressor>());
        return builder;
    }

    /// <summary>
    /// Registers a compressor with its options: <typeparamref name="TOptions"/> is bound from the subsection
    /// <paramref name="sectionName"/> of the section given to <c>AddPgArchive(IConfiguration)</c> (e.g.
    /// <c>PgArchive:Zstd</c>), where a key it does not have is an error, can be set further with
    /// <c>services.Configure&lt;TOptions&gt;</c>, and is checked by <typeparamref name="TValidator"/> at start-up. The
    /// compressor is created by dependency injection (take <c>IOptions&lt;TOptions&gt;</c> in its constructor).
    /// Registering the same type again changes nothing. <typeparamref name="TOptions"/> is a class of settable scalar
    /// properties (numbers, strings, enums, booleans).
    /// </summary>
    public static IPgArchiveBuilder AddCompressor<
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TCompressor,
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.All)] TOptions,
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TValidator>(
        this IPgArchiveBuilder builder, string sectionName)
        where TCompressor : class, ICompressor
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(sectionName);
        builder.Services.AddOptions<TOptions>().ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<TOptions>, SubsectionConfigureOptions<TOptions>>(
            sp => new SubsectionConfigureOptions<TOptions>(sp.GetService<PgArchiveConfigurationSection>(), sectionName)));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        return builder.AddCompressor<TCompressor>();
    }

    /// <summary>
    /// Registers a method that is only read, never written (WAL-E's <c>.lzo</c>): objects with its extension decode
    /// with it, and choosing it as the method to write with is refused. Registering the same type again changes nothing.
    /// </summary>
    public static IPgArchiveBuilder AddDecompressor<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TDecompressor>(
        this IPgArchiveBuilder builder)
        where TDecompressor : class, IDecompressor
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IDecompressor, TDecompressor>());
        return builder;
    }
}
