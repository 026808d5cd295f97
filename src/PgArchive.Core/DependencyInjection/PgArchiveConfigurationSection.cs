using Microsoft.Extensions.Configuration;

namespace PgArchive.DependencyInjection;

/// <summary>
/// The section <c>AddPgArchive(IConfiguration)</c> was given (e.g. <c>PgArchive</c>), registered so that options
/// registered by name (a compressor's <c>Zstd</c>, ...) bind their subsection of it, whichever call came first.
/// </summary>
internal sealed record PgArchiveConfigurationSection(IConfiguration Section);
