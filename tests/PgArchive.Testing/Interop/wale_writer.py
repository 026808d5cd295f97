#!/usr/bin/python3
"""A WAL-E-shaped archive writer for the tests, written independently of PgArchive from WAL-E's source
(wal-e/wal-e: wal_e/tar_partition.py, wal_e/operator/backup.py, wal_e/worker/upload.py,
wal_e/worker/pg/psql_worker.py, wal_e/pipeline.py, wal_e/storage/base.py). It uses Python's own tarfile
module, as WAL-E did, and the real `lzop` and `gpg` programs with WAL-E's arguments, so the objects are
byte for byte what WAL-E 1.x stored on its file:// backend.

What it reproduces:
  - basebackups_005/base_<start segment>_<start offset>/extended_version.txt: the text of
    `SELECT * FROM version()` (WAL-E: _upload_pg_cluster_dir);
  - .../tar_partitions/part_<8 digits>.tar.lzo: `lzop -c` of a tar written by tarfile.open(mode='w|')
    (PAX on Python >= 3.8, GNU before: --format), then `gpg -e -z 0 -r KEYID` when a key is given
    (WAL-E: PartitionUploader, pipeline.get_upload_pipeline);
  - the tree walk of tar_partition.partition(): one member per directory (the top one written as '/'),
    file and symbolic link; pg_xlog, pg_log, pg_replslot, pg_wal not descended at the top, pgsql_tmp,
    pg_stat_tmp and .wal-e nowhere; lost+found skipped; postmaster.pid, postmaster.opts and the
    configuration files (postgresql.conf, pg_hba.conf, recovery.conf, recovery.done, pg_ident.conf,
    promote) left out at the top; tablespaces walked through their pg_tblspc/<oid> link and recorded in
    the spec ({'base_prefix', 'tablespaces': [oid], oid: {'loc', 'link'}}); member names relative to the
    data directory, no leading './';
  - partitions cut before a member would bring the partition to --partition-bytes (WAL-E: 1.5 GiB) or
    past 6144 members;
  - the sentinel base_<start>_<offset>_backup_stop_sentinel.json, json.dumps of
    {wal_segment_backup_stop, wal_segment_offset_backup_stop, expanded_size_bytes, spec}, written last;
  - wal_005/<file>.lzo: `lzop -c` of the WAL file, then gpg as above (WAL-E: WalUploader, do_lzop_put).
Offsets are WAL-E's: lpad(file_offset::text, 8, '0') of pg_walfile_name_offset, so decimal digits.

usage:
  wale_writer.py backup ARCHIVE PGDATA START_SEGMENT START_OFFSET STOP_SEGMENT STOP_OFFSET VERSION_TEXT
                 [--gpg-key ID] [--format pax|gnu] [--partition-bytes N]
  wale_writer.py wal ARCHIVE FILE [--gpg-key ID]
gpg runs with the caller's GNUPGHOME.
"""
import argparse
import json
import os
import subprocess
import tarfile

PARTITION_MAX_MEMBERS = 1610612736 // 262144
TOP_LEVEL_SKIPPED_FILES = {'postmaster.pid', 'postmaster.opts', 'postgresql.conf', 'pg_hba.conf', 'recovery.conf',
                           'recovery.done', 'pg_ident.conf', 'promote'}
TOP_LEVEL_NOT_DESCENDED = ('pg_xlog', 'pg_log', 'pg_replslot', 'pg_wal')
NOT_DESCENDED = ('pgsql_tmp', 'pg_stat_tmp', '.wal-e')


def compress_and_encrypt(data, gpg_key):
    """lzop -c, then gpg -e -z 0 -r KEY: WAL-E's upload pipeline."""
    out = subprocess.run(['lzop', '-c'], input=data, stdout=subprocess.PIPE, check=True).stdout
    if gpg_key:
        out = subprocess.run(['gpg', '-e', '-z', '0', '-r', gpg_key], input=out, stdout=subprocess.PIPE,
                             check=True).stdout
    return out


def put(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)


def walk(pgdata):
    """The paths WAL-E archives, in its order, and the tablespace spec."""
    paths = []
    spec = {'base_prefix': pgdata, 'tablespaces': []}
    for root, dirnames, filenames in os.walk(pgdata):
        top = os.path.abspath(root) == os.path.abspath(pgdata)
        paths.append(root)
        excluded = (TOP_LEVEL_NOT_DESCENDED if top else ()) + NOT_DESCENDED
        for name in excluded:
            if name in dirnames:
                dirnames.remove(name)
                paths.append(os.path.join(root, name))
        if 'lost+found' in dirnames:
            dirnames.remove('lost+found')
        for name in filenames:
            if not (top and name in TOP_LEVEL_SKIPPED_FILES):
                paths.append(os.path.join(root, name))
        if root == os.path.join(pgdata, 'pg_tblspc'):
            for oid in dirnames:
                link = os.path.join(root, oid)
                if not (os.path.islink(link) and os.path.isdir(link)):
                    continue
                location = os.readlink(link)
                if not location.endswith(os.path.sep):
                    location += os.path.sep
                spec['tablespaces'].append(oid)
                spec[oid] = {'loc': location, 'link': link[len(pgdata):]}
                for ts_root, ts_dirnames, ts_filenames in os.walk(link):
                    if 'pgsql_tmp' in ts_dirnames:
                        ts_dirnames.remove('pgsql_tmp')
                        paths.append(os.path.join(ts_root, 'pgsql_tmp'))
                    paths.extend(os.path.join(ts_root, f) for f in ts_filenames)
                    if not ts_filenames and ts_root not in paths:
                        paths.append(ts_root)
                if link in paths:
                    paths.remove(link)
    return paths, spec


def partitions(pgdata, paths, max_bytes):
    """Groups tarinfos into partitions the way WAL-E's _segmentation_guts does."""
    probe = tarfile.TarFile(os.devnull, 'w', dereference=False)
    current, size = [], 0
    for path in paths:
        info = probe.gettarinfo(path, arcname=path[len(pgdata):])
        if size + info.size >= max_bytes or len(current) >= PARTITION_MAX_MEMBERS:
            yield current
            current, size = [], 0
        current.append((path, info))
        size += info.size
    probe.close()
    if current:
        yield current


def tar_bytes(members, tar_format):
    import io
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w|', format=tar_format) as tar:
        for path, info in members:
            if info.isfile():
                with open(path, 'rb') as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    return buffer.getvalue()


def backup(args):
    pgdata = args.pgdata if args.pgdata.endswith(os.path.sep) else args.pgdata + os.path.sep
    name = 'base_{0}_{1}'.format(args.start_segment, args.start_offset)
    prefix = os.path.join(args.archive, 'basebackups_005', name)
    put(os.path.join(prefix, 'extended_version.txt'), args.version_text.encode('utf8'))
    tar_format = tarfile.PAX_FORMAT if args.format == 'pax' else tarfile.GNU_FORMAT
    paths, spec = walk(pgdata)
    total = 0
    for number, members in enumerate(partitions(pgdata, paths, args.partition_bytes)):
        total += sum(info.size for _, info in members)
        stored = compress_and_encrypt(tar_bytes(members, tar_format), args.gpg_key)
        put(os.path.join(prefix, 'tar_partitions', 'part_{0:08d}.tar.lzo'.format(number)), stored)
    sentinel = json.dumps({'wal_segment_backup_stop': args.stop_segment,
                           'wal_segment_offset_backup_stop': args.stop_offset,
                           'expanded_size_bytes': total,
                           'spec': spec})
    put(prefix + '_backup_stop_sentinel.json', sentinel.encode('utf8'))
    print(name)


def wal(args):
    with open(args.file, 'rb') as f:
        data = f.read()
    put(os.path.join(args.archive, 'wal_005', os.path.basename(args.file) + '.lzo'),
        compress_and_encrypt(data, args.gpg_key))


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest='command', required=True)
    b = commands.add_parser('backup')
    for name in ('archive', 'pgdata', 'start_segment', 'start_offset', 'stop_segment', 'stop_offset', 'version_text'):
        b.add_argument(name)
    b.add_argument('--gpg-key')
    b.add_argument('--format', choices=('pax', 'gnu'), default='pax')
    b.add_argument('--partition-bytes', type=int, default=1610612736)
    w = commands.add_parser('wal')
    w.add_argument('archive')
    w.add_argument('file')
    w.add_argument('--gpg-key')
    args = parser.parse_args()
    backup(args) if args.command == 'backup' else wal(args)


if __name__ == '__main__':
    main()
