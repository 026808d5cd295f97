using Microsoft.Extensions.DependencyInjection;

namespace PgArchive.DependencyInjection;

/// <summary>Returned by <c>AddPgArchive</c>: chain a storage provider (<c>UseLocalFileSystem</c>, <c>UseInMemory</c>, <c>UseS3</c>, ...).</summary>
public interface IPgArchiveBuilder
{
    /// <summary>The service collection the archive is registered in.</summary>
    IServiceCollection Services { get; }
}

internal sealed record PgArchiveBuilder(IServiceCollection Services) : IPgArchiveBuilder;
