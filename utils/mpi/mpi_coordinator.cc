#include "cairn/utils/mpi/mpi_coordinator.h"

#include <algorithm>
#include <cstring>
#include <random>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

// Tags of a coordinator's messages, from its tag base: a message to the primary is a header then
// its body in pieces, and so is the primary's answer. Each coordinator draws its own base (see
// Create), so that messages left in flight by an earlier one, on a communicator that MPI may have
// recycled for this one, never match its receives.
constexpr int kTagUpHeader = 0;
constexpr int kTagUpBody = 1;
constexpr int kTagDownHeader = 2;
constexpr int kTagDownBody = 3;
constexpr int kTagsPerCoordinator = 4;

// "cairnMPI", then the protocol's version in the low byte.
constexpr uint64_t kMagic = 0x636169726e4d5001;
// A body larger than this is refused as the sign of a broken peer, not allocated.
constexpr uint64_t kMaxBodyBytes = uint64_t{1} << 40;
// At most this many ranks are named in a message; the rest are counted.
constexpr size_t kMaxNamedRanks = 32;

// The fixed-size start of every message.
struct Header {
  uint64_t magic = kMagic;
  uint64_t instance = 0;  // the coordinator's, drawn by its primary
  uint64_t sequence = 0;  // the collective's number, from 1
  uint64_t what = 0;      // to the primary: the Kind; from it: the absl::StatusCode
  uint64_t first = 0;     // to the primary: the name's length; from it: the body's length
  uint64_t second = 0;    // to the primary: the payload's length
};
constexpr int kHeaderBytes = sizeof(Header);
static_assert(kHeaderBytes == 48, "a header is six 64-bit words");

std::shared_ptr<std::string> EncodeHeader(const Header& header) {
  auto bytes = std::make_shared<std::string>(kHeaderBytes, '\0');
  std::memcpy(bytes->data(), &header, kHeaderBytes);
  return bytes;
}

Header DecodeHeader(const std::string& bytes) {
  Header header;
  std::memcpy(&header, bytes.data(), kHeaderBytes);
  return header;
}

absl::string_view KindName(MpiCoordinator::Kind kind) {
  switch (kind) {
    case MpiCoordinator::Kind::kBarrier:
      return "Barrier";
    case MpiCoordinator::Kind::kBroadcast:
      return "Broadcast";
    case MpiCoordinator::Kind::kGather:
      return "Gather";
  }
  return "an unknown collective";
}

std::string Describe(uint64_t kind, absl::string_view name, uint64_t sequence) {
  return absl::StrCat(KindName(static_cast<MpiCoordinator::Kind>(kind)), " '", name,
                      "' (collective #", sequence, ")");
}

// "rank 3" or "ranks 1, 2 and 5", the list cut after kMaxNamedRanks.
std::string RankList(const std::vector<int>& ranks) {
  std::vector<int> named(ranks.begin(),
                         ranks.begin() + static_cast<long>(std::min(ranks.size(), kMaxNamedRanks)));
  std::string out =
      absl::StrCat(ranks.size() == 1 ? "rank " : "ranks ", absl::StrJoin(named, ", "));
  if (ranks.size() > named.size()) {
    absl::StrAppend(&out, " and ", ranks.size() - named.size(), " more");
  }
  return out;
}

absl::Status MpiError(int code, absl::string_view what) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return absl::InternalError(absl::StrCat(what, " failed: ", absl::string_view(text, length)));
}

// Waits between polls: a few yields (a collective whose ranks are all there completes in
// microseconds), then naps that double up to a millisecond, so that a long wait leaves the
// cores to the ranks that are still working.
class Backoff {
 public:
  void Pause() {
    if (++spins_ <= 64) {
      std::this_thread::yield();
      return;
    }
    absl::SleepFor(nap_);
    nap_ = std::min(nap_ * 2, absl::Milliseconds(1));
  }

 private:
  int spins_ = 0;
  absl::Duration nap_ = absl::Microseconds(2);
};

// Polls `done` until it returns true or `deadline` passes; one last poll after the deadline.
template <typename Done>
absl::StatusOr<bool> PollUntil(absl::Time deadline, Done done) {
  Backoff backoff;
  for (;;) {
    absl::StatusOr<bool> finished = done();
    if (!finished.ok() || *finished) return finished;
    if (absl::Now() >= deadline) return done();
    backoff.Pause();
  }
}

}  // namespace

// A request that may still be in progress, with the buffer it reads or fills.
struct MpiCoordinator::InFlight {
  MPI_Request request = MPI_REQUEST_NULL;
  std::shared_ptr<std::string> buffer;
};

namespace {

// Posts the sends of one message to `dest`: its header, then its body in pieces.
absl::Status PostSends(MPI_Comm comm, int dest, int header_tag, int body_tag,
                       std::shared_ptr<std::string> header, std::shared_ptr<std::string> body,
                       int piece_bytes, std::vector<MPI_Request>* requests,
                       std::vector<std::shared_ptr<std::string>>* buffers) {
  MPI_Request request;
  int code = MPI_Isend(header->data(), kHeaderBytes, MPI_BYTE, dest, header_tag, comm, &request);
  if (code != MPI_SUCCESS) return MpiError(code, "MPI_Isend");
  requests->push_back(request);
  buffers->push_back(header);
  for (size_t at = 0; at < body->size(); at += static_cast<size_t>(piece_bytes)) {
    const int count = static_cast<int>(std::min<size_t>(piece_bytes, body->size() - at));
    code = MPI_Isend(body->data() + at, count, MPI_BYTE, dest, body_tag, comm, &request);
    if (code != MPI_SUCCESS) return MpiError(code, "MPI_Isend");
    requests->push_back(request);
    buffers->push_back(body);
  }
  return absl::OkStatus();
}

// Posts the receives of a body of `body->size()` bytes from `source`, in pieces.
absl::Status PostBodyReceives(MPI_Comm comm, int source, int tag, std::string* body,
                              int piece_bytes, std::vector<MPI_Request>* requests) {
  for (size_t at = 0; at < body->size(); at += static_cast<size_t>(piece_bytes)) {
    const int count = static_cast<int>(std::min<size_t>(piece_bytes, body->size() - at));
    MPI_Request request;
    const int code = MPI_Irecv(body->data() + at, count, MPI_BYTE, source, tag, comm, &request);
    if (code != MPI_SUCCESS) return MpiError(code, "MPI_Irecv");
    requests->push_back(request);
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> TestAll(std::vector<MPI_Request>* requests) {
  if (requests->empty()) return true;
  int done = 0;
  const int code =
      MPI_Testall(static_cast<int>(requests->size()), requests->data(), &done, MPI_STATUSES_IGNORE);
  if (code != MPI_SUCCESS) return MpiError(code, "MPI_Testall");
  return done != 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MpiCoordinator>> MpiCoordinator::Create(
    MPI_Comm comm, const MpiCoordinatorOptions& options) {
  int initialized = 0;
  int finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!initialized || finalized) {
    return absl::FailedPreconditionError(
        absl::StrCat("an MPI coordinator needs MPI running: MPI is ",
                     finalized ? "already finalized" : "not initialized"));
  }
  int level = MPI_THREAD_SINGLE;
  MPI_Query_thread(&level);
  if (level < MPI_THREAD_SERIALIZED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "an MPI coordinator needs MPI initialized with MPI_Init_thread at MPI_THREAD_SERIALIZED "
        "or MPI_THREAD_MULTIPLE, since saves may run collectives on a background thread; this "
        "MPI runs at ",
        level == MPI_THREAD_SINGLE ? "MPI_THREAD_SINGLE" : "MPI_THREAD_FUNNELED"));
  }
  if (options.deadline <= absl::ZeroDuration() || options.max_message_bytes <= 0) {
    return absl::InvalidArgumentError(
        "an MPI coordinator needs a positive deadline and message size");
  }
  if (comm == MPI_COMM_NULL) {
    return absl::InvalidArgumentError("an MPI coordinator needs a communicator, not MPI_COMM_NULL");
  }
  // On the heap: a duplication that does not complete in time may complete later, and MPI
  // then writes the new communicator where it was told to.
  struct Duplication {
    MPI_Comm comm = MPI_COMM_NULL;
    MPI_Request request = MPI_REQUEST_NULL;
  };
  auto duplication = std::make_unique<Duplication>();
  int code = MPI_Comm_idup(comm, &duplication->comm, &duplication->request);
  if (code != MPI_SUCCESS) return MpiError(code, "MPI_Comm_idup");
  absl::StatusOr<bool> done =
      PollUntil(absl::Now() + options.deadline, [&]() -> absl::StatusOr<bool> {
        int flag = 0;
        const int code = MPI_Test(&duplication->request, &flag, MPI_STATUS_IGNORE);
        if (code != MPI_SUCCESS) return MpiError(code, "MPI_Test");
        return flag != 0;
      });
  if (!done.ok() || !*done) {
    // The pending duplication cannot be cancelled: it is left to MPI, with its memory.
    duplication.release();
    if (!done.ok()) return done.status();
    return absl::DeadlineExceededError(
        absl::StrCat("creating an MPI coordinator: not every rank of the communicator joined "
                     "the duplication within ",
                     absl::FormatDuration(options.deadline)));
  }
  const MPI_Comm dup = duplication->comm;
  MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);
  int rank = 0;
  int size = 0;
  MPI_Comm_rank(dup, &rank);
  MPI_Comm_size(dup, &size);

  // The primary draws the coordinator's instance, which picks its tags: MPI may give the new
  // communicator the context of a freed one, whose failed collectives left messages in flight.
  struct Agreement {
    uint64_t instance = 0;
    MPI_Request request = MPI_REQUEST_NULL;
  };
  auto agreement = std::make_unique<Agreement>();
  if (rank == 0) {
    std::random_device device;
    std::mt19937_64 draw((uint64_t{device()} << 32) ^ device() ^
                         static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())));
    agreement->instance = draw();
  }
  code = MPI_Ibcast(&agreement->instance, 1, MPI_UINT64_T, 0, dup, &agreement->request);
  if (code != MPI_SUCCESS) return MpiError(code, "MPI_Ibcast");
  done = PollUntil(absl::Now() + options.deadline, [&]() -> absl::StatusOr<bool> {
    int flag = 0;
    const int code = MPI_Test(&agreement->request, &flag, MPI_STATUS_IGNORE);
    if (code != MPI_SUCCESS) return MpiError(code, "MPI_Test");
    return flag != 0;
  });
  if (!done.ok() || !*done) {
    agreement.release();  // left to MPI, with its memory, like a pending duplication
    if (!done.ok()) return done.status();
    return absl::DeadlineExceededError(
        absl::StrCat("creating an MPI coordinator: not every rank of the communicator took part "
                     "within ",
                     absl::FormatDuration(options.deadline)));
  }
  int* tag_ub = nullptr;
  int has_tag_ub = 0;
  MPI_Comm_get_attr(dup, MPI_TAG_UB, &tag_ub, &has_tag_ub);
  // The standard promises tags up to at least 32767.
  const uint64_t top = has_tag_ub && tag_ub && *tag_ub >= 32767 ? *tag_ub : 32767;
  const uint64_t slots = (top + 1) / kTagsPerCoordinator - 1;
  const int tag_base = static_cast<int>(kTagsPerCoordinator * (1 + agreement->instance % slots));
  return std::unique_ptr<MpiCoordinator>(
      new MpiCoordinator(dup, rank, size, agreement->instance, tag_base, options));
}

MpiCoordinator::MpiCoordinator(MPI_Comm comm, int rank, int size, uint64_t instance, int tag_base,
                               const MpiCoordinatorOptions& options)
    : comm_(comm),
      rank_(rank),
      size_(size),
      instance_(instance),
      tag_base_(tag_base),
      max_message_bytes_(options.max_message_bytes),
      options_(options),
      deadline_(options.deadline) {}

MpiCoordinator::~MpiCoordinator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  absl::MutexLock lock(&mu_);
  for (InFlight& orphan : orphans_) {
    int flag = 0;
    if (orphan.request != MPI_REQUEST_NULL) MPI_Test(&orphan.request, &flag, MPI_STATUS_IGNORE);
    if (orphan.request == MPI_REQUEST_NULL) continue;
    // Still pending after a failed collective: MPI keeps the request going on its own, so its
    // buffer must outlive this coordinator. It is kept, on purpose, for the life of the process.
    MPI_Request_free(&orphan.request);
    static auto* const kept = new std::vector<std::shared_ptr<std::string>>();
    kept->push_back(std::move(orphan.buffer));
  }
  // A coordinator that failed keeps its communicator until MPI_Finalize. Freed, its context
  // could be given to a new communicator, and the messages still in flight to or from this one
  // (those of a rank that answered too late, say) would arrive there, ahead of the new
  // communicator's own, and break MPI's ordering of them. While any rank holds the context, MPI
  // gives it to no new communicator of that rank.
  // A message waiting that no collective asked for (a rank sent this one a collective it never
  // ran) counts the same: MPI must not see it arrive on a freed communicator.
  int waiting = 0;
  if (broken_.ok()) MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm_, &waiting, MPI_STATUS_IGNORE);
  if (broken_.ok() && !waiting) MPI_Comm_free(&comm_);
}

void MpiCoordinator::set_deadline(absl::Duration deadline) {
  absl::MutexLock lock(&mu_);
  deadline_ = deadline;
}

absl::Duration MpiCoordinator::deadline() const {
  absl::MutexLock lock(&mu_);
  return deadline_;
}

bool MpiCoordinator::broken() const {
  absl::MutexLock lock(&mu_);
  return !broken_.ok();
}

absl::StatusOr<std::unique_ptr<Coordinator>> MpiCoordinator::Duplicate() {
  int level = MPI_THREAD_SINGLE;
  MPI_Query_thread(&level);
  if (level < MPI_THREAD_MULTIPLE) {
    return absl::FailedPreconditionError(
        "duplicating an MPI coordinator is for running collectives from two threads at once (a "
        "Checkpointer's decisions and its background saves), which MPI allows only when "
        "initialised with MPI_THREAD_MULTIPLE: call MPI_Init_thread with it");
  }
  MpiCoordinatorOptions options = options_;
  options.deadline = deadline();
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<MpiCoordinator> duplicate, Create(comm_, options));
  return std::unique_ptr<Coordinator>(std::move(duplicate));
}

absl::Status MpiCoordinator::Barrier(absl::string_view name) {
  return Run(Kind::kBarrier, name, "", "", nullptr).status();
}

absl::StatusOr<std::string> MpiCoordinator::Broadcast(absl::string_view name,
                                                      absl::string_view value) {
  return Run(Kind::kBroadcast, name, "", value, nullptr);
}

absl::StatusOr<std::vector<std::string>> MpiCoordinator::Gather(absl::string_view name,
                                                                absl::string_view value) {
  std::vector<std::string> gathered;
  absl::StatusOr<std::string> result = Run(Kind::kGather, name, value, "", &gathered);
  if (!result.ok()) return result.status();
  return gathered;
}

absl::Status MpiCoordinator::Break(absl::Status status) {
  broken_ = status;
  return status;
}

void MpiCoordinator::Orphan(std::vector<InFlight> requests) {
  for (InFlight& request : requests) {
    if (request.request == MPI_REQUEST_NULL) continue;
    orphans_.push_back(std::move(request));
  }
}

absl::StatusOr<std::string> MpiCoordinator::Run(Kind kind, absl::string_view name,
                                                absl::string_view up, absl::string_view down,
                                                std::vector<std::string>* gathered) {
  absl::MutexLock lock(&mu_);
  if (!broken_.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the MPI coordinator cannot run ", KindName(kind), " '", name,
                     "': an earlier collective failed and messages may still be in flight (",
                     broken_.message(), "); make a new coordinator"));
  }
  ++sequence_;
  if (size_ == 1) {
    if (gathered) *gathered = {std::string(up)};
    return std::string(down);
  }
  return rank_ == 0 ? RunPrimary(kind, name, up, down, gathered) : RunOther(kind, name, up);
}

absl::StatusOr<std::string> MpiCoordinator::RunPrimary(Kind kind, absl::string_view name,
                                                       absl::string_view up, absl::string_view down,
                                                       std::vector<std::string>* gathered) {
  const absl::Time deadline = absl::Now() + deadline_;
  const std::string what = Describe(static_cast<uint64_t>(kind), name, sequence_);
  struct Peer {
    std::shared_ptr<std::string> header = std::make_shared<std::string>(kHeaderBytes, '\0');
    MPI_Request header_request = MPI_REQUEST_NULL;
    bool has_header = false;
    std::shared_ptr<std::string> body;
    std::vector<MPI_Request> body_requests;
    bool arrived = false;
  };
  std::vector<Peer> peers(static_cast<size_t>(size_));
  auto progress = [&]() -> absl::StatusOr<bool> {
    bool all = true;
    for (int p = 1; p < size_; ++p) {
      Peer& peer = peers[p];
      if (peer.arrived) continue;
      if (!peer.has_header) {
        int flag = 0;
        const int code = MPI_Test(&peer.header_request, &flag, MPI_STATUS_IGNORE);
        if (code != MPI_SUCCESS) return MpiError(code, "MPI_Test");
        if (!flag) {
          all = false;
          continue;
        }
        peer.has_header = true;
        const Header header = DecodeHeader(*peer.header);
        if (header.magic != kMagic || header.instance != instance_ ||
            header.first > kMaxBodyBytes || header.second > kMaxBodyBytes) {
          return absl::InternalError(
              absl::StrCat(what, ": rank ", p, " sent a message that is not cairn's protocol"));
        }
        peer.body = std::make_shared<std::string>(header.first + header.second, '\0');
        absl::Status posted = PostBodyReceives(comm_, p, tag_base_ + kTagUpBody, peer.body.get(),
                                               max_message_bytes_, &peer.body_requests);
        if (!posted.ok()) return posted;
      }
      absl::StatusOr<bool> done = TestAll(&peer.body_requests);
      if (!done.ok()) return done.status();
      if (*done) {
        peer.arrived = true;
      } else {
        all = false;
      }
    }
    return all;
  };

  // Answers `code` and `body` to every rank that arrived; the answers to the others are not
  // sent. Returns the requests of the answers still in flight.
  auto answer = [&](absl::StatusCode code, const std::string& body,
                    std::vector<MPI_Request>* requests,
                    std::vector<std::shared_ptr<std::string>>* buffers) -> absl::Status {
    Header header;
    header.instance = instance_;
    header.sequence = sequence_;
    header.what = static_cast<uint64_t>(code);
    header.first = body.size();
    auto encoded = EncodeHeader(header);
    auto shared_body = std::make_shared<std::string>(body);
    for (int p = 1; p < size_; ++p) {
      if (!peers[p].arrived) continue;
      absl::Status posted =
          PostSends(comm_, p, tag_base_ + kTagDownHeader, tag_base_ + kTagDownBody, encoded,
                    shared_body, max_message_bytes_, requests, buffers);
      if (!posted.ok()) return posted;
    }
    return absl::OkStatus();
  };
  // After a failure: tells the ranks that arrived, gives the answers a moment to leave, and
  // keeps whatever is still pending (the receives cancelled) until the coordinator goes.
  auto fail = [&](absl::Status status) -> absl::Status {
    std::vector<MPI_Request> requests;
    std::vector<std::shared_ptr<std::string>> buffers;
    answer(status.code(), std::string(status.message()), &requests, &buffers).IgnoreError();
    PollUntil(absl::Now() + std::min(deadline_ / 4, absl::Seconds(1)), [&]() {
      return TestAll(&requests);
    }).IgnoreError();
    std::vector<InFlight> pending;
    for (size_t i = 0; i < requests.size(); ++i) pending.push_back({requests[i], buffers[i]});
    for (int p = 1; p < size_; ++p) {
      Peer& peer = peers[p];
      if (peer.arrived) continue;
      if (!peer.has_header && peer.header_request != MPI_REQUEST_NULL) {
        MPI_Cancel(&peer.header_request);
        pending.push_back({peer.header_request, peer.header});
      }
      for (MPI_Request& request : peer.body_requests) {
        if (request == MPI_REQUEST_NULL) continue;
        MPI_Cancel(&request);
        pending.push_back({request, peer.body});
      }
    }
    Orphan(std::move(pending));
    return Break(status);
  };

  for (int p = 1; p < size_; ++p) {
    Peer& peer = peers[p];
    const int code = MPI_Irecv(peer.header->data(), kHeaderBytes, MPI_BYTE, p,
                               tag_base_ + kTagUpHeader, comm_, &peer.header_request);
    if (code != MPI_SUCCESS) return fail(MpiError(code, "MPI_Irecv"));
  }
  absl::StatusOr<bool> arrived = PollUntil(deadline, progress);
  if (!arrived.ok()) return fail(Annotate(arrived.status(), what));
  if (!*arrived) {
    std::vector<int> missing;
    for (int p = 1; p < size_; ++p) {
      if (!peers[p].arrived) missing.push_back(p);
    }
    return fail(absl::DeadlineExceededError(absl::StrCat(
        "MPI ", what, " on ", size_, " ranks: ", RankList(missing), " did not arrive within ",
        absl::FormatDuration(deadline_), " (rank 0, the primary, waited for them)")));
  }

  // Every rank is there: check that all are in the same collective.
  std::vector<std::string> mismatches;
  for (int p = 1; p < size_; ++p) {
    const Header header = DecodeHeader(*peers[p].header);
    const absl::string_view their_name(peers[p].body->data(), header.first);
    if (header.sequence != sequence_ || header.what != static_cast<uint64_t>(kind) ||
        their_name != name) {
      if (mismatches.size() < 3) {
        mismatches.push_back(absl::StrCat("rank ", p, " is in ",
                                          Describe(header.what, their_name, header.sequence)));
      } else if (mismatches.size() == 3) {
        mismatches.push_back("others differ too");
      }
    }
  }
  if (!mismatches.empty()) {
    return fail(absl::AbortedError(
        absl::StrCat("MPI collectives out of step: ", absl::StrJoin(mismatches, "; "),
                     ", while rank 0 (the primary) is in ", what,
                     "; every rank must make the same collectives in the same order")));
  }

  if (gathered) {
    gathered->assign(static_cast<size_t>(size_), std::string());
    (*gathered)[0] = std::string(up);
    for (int p = 1; p < size_; ++p) {
      const Header header = DecodeHeader(*peers[p].header);
      (*gathered)[p] = peers[p].body->substr(header.first);
    }
  }
  std::vector<MPI_Request> requests;
  std::vector<std::shared_ptr<std::string>> buffers;
  absl::Status posted = answer(absl::StatusCode::kOk, std::string(down), &requests, &buffers);
  if (!posted.ok()) return Break(posted);
  // The answer goes to ranks that are waiting for it; it gets a fresh deadline.
  absl::StatusOr<bool> sent =
      PollUntil(absl::Now() + deadline_, [&]() { return TestAll(&requests); });
  if (!sent.ok() || !*sent) {
    std::vector<InFlight> pending;
    for (size_t i = 0; i < requests.size(); ++i) pending.push_back({requests[i], buffers[i]});
    Orphan(std::move(pending));
    if (!sent.ok()) return Break(Annotate(sent.status(), what));
    return Break(
        absl::DeadlineExceededError(absl::StrCat("MPI ", what, " on ", size_,
                                                 " ranks: the primary's answer was not taken "
                                                 "by every rank within ",
                                                 absl::FormatDuration(deadline_))));
  }
  return std::string(down);
}

absl::StatusOr<std::string> MpiCoordinator::RunOther(Kind kind, absl::string_view name,
                                                     absl::string_view up) {
  // A quarter longer than the primary waits, so that its answer, naming any missing rank,
  // arrives before this rank gives up on it.
  const absl::Duration wait = deadline_ + deadline_ / 4;
  const absl::Time deadline = absl::Now() + wait;
  const std::string what = Describe(static_cast<uint64_t>(kind), name, sequence_);
  Header header;
  header.instance = instance_;
  header.sequence = sequence_;
  header.what = static_cast<uint64_t>(kind);
  header.first = name.size();
  header.second = up.size();
  auto body = std::make_shared<std::string>();
  body->reserve(name.size() + up.size());
  body->append(name.data(), name.size());
  body->append(up.data(), up.size());
  std::vector<MPI_Request> sends;
  std::vector<std::shared_ptr<std::string>> buffers;
  auto keep_pending = [&](std::vector<InFlight> pending) {
    for (size_t i = 0; i < sends.size(); ++i) pending.push_back({sends[i], buffers[i]});
    Orphan(std::move(pending));
  };
  absl::Status posted = PostSends(comm_, 0, tag_base_ + kTagUpHeader, tag_base_ + kTagUpBody,
                                  EncodeHeader(header), body, max_message_bytes_, &sends, &buffers);
  if (!posted.ok()) {
    keep_pending({});
    return Break(posted);
  }
  auto answer_header = std::make_shared<std::string>(kHeaderBytes, '\0');
  MPI_Request answer_request = MPI_REQUEST_NULL;
  int code = MPI_Irecv(answer_header->data(), kHeaderBytes, MPI_BYTE, 0, tag_base_ + kTagDownHeader,
                       comm_, &answer_request);
  if (code != MPI_SUCCESS) {
    keep_pending({});
    return Break(MpiError(code, "MPI_Irecv"));
  }
  absl::StatusOr<bool> answered = PollUntil(deadline, [&]() -> absl::StatusOr<bool> {
    absl::StatusOr<bool> sent = TestAll(&sends);
    if (!sent.ok()) return sent;
    int flag = 0;
    const int code = MPI_Test(&answer_request, &flag, MPI_STATUS_IGNORE);
    if (code != MPI_SUCCESS) return MpiError(code, "MPI_Test");
    return flag != 0;
  });
  if (!answered.ok() || !*answered) {
    MPI_Cancel(&answer_request);
    keep_pending({{answer_request, answer_header}});
    if (!answered.ok()) return Break(Annotate(answered.status(), what));
    return Break(
        absl::DeadlineExceededError(absl::StrCat("MPI ", what, " on ", size_,
                                                 " ranks: rank 0, the primary, did not answer "
                                                 "rank ",
                                                 rank_, " within ", absl::FormatDuration(wait))));
  }
  const Header answer = DecodeHeader(*answer_header);
  if (answer.magic != kMagic || answer.instance != instance_ || answer.sequence != sequence_ ||
      answer.first > kMaxBodyBytes) {
    keep_pending({});
    return Break(
        absl::InternalError(absl::StrCat("MPI ", what,
                                         ": the primary's answer is not cairn's protocol or is for "
                                         "collective #",
                                         answer.sequence)));
  }
  auto answer_body = std::make_shared<std::string>(answer.first, '\0');
  std::vector<MPI_Request> receives;
  posted = PostBodyReceives(comm_, 0, tag_base_ + kTagDownBody, answer_body.get(),
                            max_message_bytes_, &receives);
  absl::StatusOr<bool> received = posted.ok()
                                      ? PollUntil(deadline,
                                                  [&]() -> absl::StatusOr<bool> {
                                                    absl::StatusOr<bool> sent = TestAll(&sends);
                                                    if (!sent.ok()) return sent;
                                                    absl::StatusOr<bool> got = TestAll(&receives);
                                                    if (!got.ok()) return got;
                                                    return *sent && *got;
                                                  })
                                      : absl::StatusOr<bool>(posted);
  if (!received.ok() || !*received) {
    std::vector<InFlight> pending;
    for (MPI_Request& request : receives) {
      if (request == MPI_REQUEST_NULL) continue;
      MPI_Cancel(&request);
      pending.push_back({request, answer_body});
    }
    keep_pending(std::move(pending));
    if (!received.ok()) return Break(Annotate(received.status(), what));
    return Break(absl::DeadlineExceededError(absl::StrCat(
        "MPI ", what, " on ", size_, " ranks: the primary's answer did not reach rank ", rank_,
        " within ", absl::FormatDuration(wait))));
  }
  const auto status_code = static_cast<absl::StatusCode>(answer.what);
  if (status_code != absl::StatusCode::kOk) {
    return Break(absl::Status(status_code, *answer_body));
  }
  return std::move(*answer_body);
}

}  // namespace cairn
